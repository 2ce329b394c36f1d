"""djbot (党建助手): party-branch work inside WeCom and DingTalk group chats."""

__version__ = "0.1.0"
