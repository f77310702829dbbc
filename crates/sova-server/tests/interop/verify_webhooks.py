"""Verify Sova's webhook deliveries with the official Standard Webhooks library (PyPI `standardwebhooks`).

stdin: {"secrets": ["whsec_..."], "requests": [{"headers": {...}, "body": "..."}]}
stdout: {"verified": [[true|false per secret] per request]}
Exit 3 when the library is missing (the Rust test skips, or fails under SOVA_REQUIRE_INTEROP=1).
"""
import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as e:  # pragma: no cover
    print(f"standardwebhooks is not installed: {e}", file=sys.stderr)
    sys.exit(3)

job = json.load(sys.stdin)
out = []
for req in job["requests"]:
    row = []
    for secret in job["secrets"]:
        try:
            payload = Webhook(secret).verify(req["body"], req["headers"])
            row.append(payload == json.loads(req["body"]))
        except WebhookVerificationError:
            row.append(False)
    out.append(row)
json.dump({"verified": out}, sys.stdout)
