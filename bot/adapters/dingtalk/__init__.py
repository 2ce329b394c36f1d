"""DingTalk: the internal-app robot (HTTP callback or Stream mode), proactive sends and
branch custom robots. Protocol facts and their sources: shared/platforms.md §3."""
