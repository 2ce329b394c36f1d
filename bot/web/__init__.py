"""The dashboard (看板): pages with charts served by `djbot serve`, reached by a signed link
from the chat, and the picture in the leaders' weekly push. See docs/dashboard.md."""
