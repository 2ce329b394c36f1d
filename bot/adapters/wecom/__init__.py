"""WeCom (企业微信): the AI bot (智能机器人) and the self-built app (自建应用)."""
