"""One djbot replica in DingTalk Stream mode, in its own process (test_dingtalk_stream.py).

dingtalk-stream reads DINGTALK_OPENAPI_ENDPOINT once at import, so Stream tests cannot
share the pytest process: the test sets the environment (DJBOT_* and the endpoint of the
fake DingTalk) and runs this script. The database is created and seeded by the test.
DJBOT_TEST_LEASE_SECONDS shortens the lease timings so a takeover fits in a test.
"""

from __future__ import annotations

import os

import uvicorn

from bot.adapters.dingtalk import stream
from bot.app import create_app
from bot.config import Settings
from bot.logs import setup_logging
from bot.runtime import build_runtime

if os.environ.get("DJBOT_TEST_LEASE_SECONDS"):
    from datetime import timedelta

    seconds = float(os.environ["DJBOT_TEST_LEASE_SECONDS"])
    stream.LEASE_TTL = timedelta(seconds=seconds)
    stream.LEASE_RENEW_SECONDS = seconds / 3
    stream.LEASE_RETRY_SECONDS = seconds / 3

settings = Settings()
setup_logging(settings)
runtime = build_runtime(settings, migrate=False)
uvicorn.run(create_app(runtime), host="127.0.0.1", port=0, log_level="warning", log_config=None)
