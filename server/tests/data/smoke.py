"""A bot's view of escalate-server from Python, with only the standard library."""
import json
import sys
import urllib.error
import urllib.request

BASE = sys.argv[1]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


status, health = call("GET", "/health")
assert status == 200 and health["status"] == "ok", health
status, decision = call("POST", "/v1/conversations/py-1/turns", {"text": "hello", "locale": "en"})
assert status == 200 and decision["action"] == "none", decision
status, decision = call("POST", "/v1/conversations/py-1/turns", {"text": "I want a real person"})
assert status == 200 and decision["action"] == "escalate", decision
assert decision["phase"] == "waiting" and decision["decision_id"], decision
status, error = call("POST", "/v1/conversations/py-1/turns", {"text": "hi", "sentimnet": 0.5})
assert status == 400 and error["code"] == "invalid_turn", error
assert error["errors"][0]["help"] == "did you mean `sentiment`?", error
status, decision = call("POST", "/v1/conversations/py-1/status",
                        {"type": "event", "name": "handoff.status", "value": {"state": "accepted"}})
assert status == 200 and decision["phase"] == "with_agent", decision
status, conversation = call("GET", "/v1/conversations/py-1")
assert status == 200 and conversation["phase"] == "with_agent" and conversation["turns"] == 2, conversation
status, answer = call("POST", "/v1/evaluate", {"state": None, "turn": {"text": "a human please"}})
assert status == 200 and answer["decision"]["action"] == "escalate" and answer["state"]["turns"] == 1, answer
print("python smoke test: ok")
