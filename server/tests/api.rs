//! The server's API with the memory store: every endpoint and error, the
//! token, the decision log, reloads under traffic, the drain on SIGTERM,
//! and a client in Python. Each test starts the real binary.

mod common;

use std::time::Duration;

use common::{Client, Server, TempDir, data, eventually};
use serde_json::{Value, json};

fn policy_args() -> Vec<String> {
    vec!["--policy".into(), data("policy.yaml").display().to_string()]
}

fn start(extra: &[&str]) -> Server {
    let mut args = policy_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args)
}

#[test]
fn a_conversation_through_its_handoff() {
    let server = start(&[]);
    let mut c = server.client();
    let first = c.post("/v1/conversations/c-1/turns", r#"{"text": "hello there"}"#);
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["action"], "none");
    assert_eq!(first["turn"], 1);
    assert_eq!(first["conversation_id"], "c-1");
    assert_eq!(first["policy"]["name"], "server-test");
    assert!(first["decision_id"].as_str().is_some_and(|id| id.len() > 8));

    let asks = c
        .post(
            "/v1/conversations/c-1/turns",
            r#"{"text": "I want a real person", "id": "m-2"}"#,
        )
        .json();
    assert_eq!(asks["action"], "escalate");
    assert_eq!(asks["rule"], "asks-for-human");
    assert_eq!(asks["phase"], "waiting");
    assert_eq!(asks["message"], "A person will help you (policy A).");

    // The same turn sent again (a client retrying) is answered, not counted.
    let again = c.post(
        "/v1/conversations/c-1/turns",
        r#"{"text": "I want a real person", "id": "m-2"}"#,
    );
    assert_eq!(again.header("x-escalate-replayed"), Some("true"));
    assert_eq!(again.json()["decision_id"], asks["decision_id"]);

    let state = c.get("/v1/conversations/c-1").json();
    assert_eq!(state["phase"], "waiting");
    assert_eq!(state["turns"], 2);
    assert_eq!(state["last_decision"]["decision_id"], asks["decision_id"]);

    let accepted = c.post(
        "/v1/conversations/c-1/status",
        r#"{"type": "event", "name": "handoff.status", "value": {"state": "accepted"}}"#,
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["phase"], "with_agent");
    let relayed = c
        .post(
            "/v1/conversations/c-1/turns",
            r#"{"text": "a real person, yes"}"#,
        )
        .json();
    assert_eq!(
        (relayed["action"].as_str(), relayed["phase"].as_str()),
        (Some("none"), Some("with_agent"))
    );
    let completed = c
        .post(
            "/v1/conversations/c-1/status",
            r#"{"type": "event", "name": "handoff.status", "value": {"state": "completed"}, "conversation": {"id": "c-1"}}"#,
        )
        .json();
    assert!(
        completed.get("phase").is_none(),
        "back with the bot: {completed}"
    );
    assert_eq!(c.get("/v1/conversations/c-1").json()["phase"], "bot");

    // An id seen before the last turn is a duplicate, not a new turn.
    let duplicate = c.post(
        "/v1/conversations/c-1/turns",
        r#"{"text": "x", "id": "m-2"}"#,
    );
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.json()["code"], "duplicate_turn");

    // Bot turns are kept for the transcript, not evaluated or counted.
    let bot = c.post(
        "/v1/conversations/c-1/turns",
        r#"{"role": "bot", "text": "How can I help?"}"#,
    );
    assert_eq!(bot.status, 200);
    assert_eq!(c.get("/v1/conversations/c-1").json()["turns"], 3);

    let mismatch = c.post(
        "/v1/conversations/c-1/turns",
        r#"{"text": "hi", "conversation_id": "c-2"}"#,
    );
    assert_eq!(mismatch.status, 400);
    assert_eq!(mismatch.json()["code"], "conversation_mismatch");

    assert_eq!(c.delete("/v1/conversations/c-1").status, 204);
    let gone = c.get("/v1/conversations/c-1");
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["code"], "unknown_conversation");
    assert_eq!(c.delete("/v1/conversations/c-1").status, 404);
}

#[test]
fn errors_are_json_and_located() {
    let server = start(&["--max-body", "2000"]);
    let mut c = server.client();
    let check = |response: common::Response, status: u16, code: &str| -> Value {
        assert_eq!(response.status, status, "{}", response.text());
        let body = response.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["errors"].is_array());
        body
    };
    // The library's message, help and column, as Turn::from_json gives them.
    let body = check(
        c.post(
            "/v1/conversations/c/turns",
            r#"{"text": "hi", "sentimnet": -0.5}"#,
        ),
        400,
        "invalid_turn",
    );
    let error = escalate::Turn::from_json(br#"{"text": "hi", "sentimnet": -0.5}"#).unwrap_err();
    assert_eq!(body["message"], error.to_string());
    assert_eq!(
        body["errors"][0]["location"],
        json!({"line": 1, "column": error.column()})
    );
    assert_eq!(body["errors"][0]["help"], "did you mean `sentiment`?");
    let body = check(
        c.post(
            "/v1/conversations/c/turns",
            r#"{"text": "hi", "outcome": "nomatch"}"#,
        ),
        400,
        "invalid_turn",
    );
    assert!(
        body["errors"][0]["help"]
            .as_str()
            .unwrap()
            .contains("no_match"),
        "{body}"
    );
    check(
        c.post("/v1/conversations/c/turns", r#"{"text": "#),
        400,
        "invalid_turn",
    );
    check(
        c.post("/v1/conversations/c/turns", "[1, 2]"),
        400,
        "invalid_turn",
    );
    // A bad turn never touches the store.
    check(c.get("/v1/conversations/c"), 404, "unknown_conversation");
    check(
        c.post(
            "/v1/conversations/c/status",
            r#"{"type": "message", "text": "hi"}"#,
        ),
        400,
        "invalid_status",
    );
    check(
        c.post(
            "/v1/conversations/c/status",
            r#"{"type": "event", "name": "handoff.status", "value": {"state": "gone"}}"#,
        ),
        400,
        "invalid_status",
    );
    let long = "x".repeat(300);
    check(
        c.post(
            &format!("/v1/conversations/{long}/turns"),
            r#"{"text": "hi"}"#,
        ),
        400,
        "invalid_conversation_id",
    );
    let big = format!(r#"{{"text": "{}"}}"#, "a".repeat(3000));
    check(
        c.post("/v1/conversations/c/turns", &big),
        413,
        "body_too_large",
    );
    check(c.post("/v1/evaluate", &big), 413, "body_too_large");
    // A body sent in chunks, without a length, is counted as it comes.
    let chunked = {
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        use std::io::{Read, Write};
        let chunk = "a".repeat(1500);
        let request = format!(
            "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len(),
            chunk.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.contains("body_too_large"), "{chunked}");
    check(c.get("/v1/nothing"), 404, "not_found");
    check(
        c.request("PUT", "/v1/evaluate", &[], b"{}"),
        405,
        "method_not_allowed",
    );
    let body = check(
        c.post("/v1/evaluate", r#"{"turn": {"text": "hi"}, "stat": null}"#),
        400,
        "invalid_request",
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `stat`"),
        "{body}"
    );
    check(
        c.post(
            "/v1/evaluate",
            r#"{"state": {"v": 99, "turns": 1}, "turn": {}}"#,
        ),
        400,
        "invalid_state",
    );
    // The column of a turn nested in /v1/evaluate's body is the body's.
    let body_text = "{\"state\": null,\n \"turn\": {\"text\": \"x\", \"outcom\": \"no_match\"}}";
    let body = check(c.post("/v1/evaluate", body_text), 400, "invalid_turn");
    assert_eq!(
        body["errors"][0]["location"],
        json!({"line": 2, "column": 24, "pointer": "/turn"})
    );
    assert_eq!(body["errors"][0]["help"], "did you mean `outcome`?");
    check(
        c.post("/v1/policy", "version: 1\nrules: []\n"),
        403,
        "policy_endpoint_disabled",
    );
}

#[test]
fn evaluate_is_stateless() {
    let server = start(&[]);
    let mut c = server.client();
    let first = c.post_json(
        "/v1/evaluate",
        &json!({"state": null, "turn": {"text": "where is it", "outcome": "no_match"}}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["decision"]["action"], "none");
    assert_eq!(first["state"]["turns"], 1);
    let second = c
        .post_json(
            "/v1/evaluate",
            &json!({"state": first["state"], "turn": {"text": "where", "outcome": "no_match"}}),
        )
        .json();
    assert_eq!(second["decision"]["action"], "offer");
    assert_eq!(second["decision"]["rule"], "two-failures");
    assert_eq!(second["decision"]["turn"], 2);
    assert!(second["decision"]["decision_id"].is_string());
    // Nothing was stored.
    assert_eq!(
        c.get("/metrics")
            .text()
            .matches("escalate_memory_conversations 0")
            .count(),
        1
    );
}

fn message_activity(conversation: &str, id: &str, text: &str, from_bot: bool) -> Value {
    let user = json!({"id": "user-1", "name": "Ada", "role": "user"});
    let bot = json!({"id": "bot-1", "name": "Helper", "role": "bot"});
    let (from, recipient) = if from_bot { (bot, user) } else { (user, bot) };
    json!({
        "type": "message", "id": id, "timestamp": "2026-11-20T14:03:00Z",
        "channelId": "msteams", "serviceUrl": "https://smba.example/teams/",
        "from": from, "recipient": recipient,
        "conversation": {"id": conversation, "tenantId": "t-1"},
        "locale": "en-US", "text": text,
    })
}

#[test]
fn bot_framework_activities() {
    let server = start(&[]);
    let mut c = server.client();
    let hello = c.post_json(
        "/v1/activities",
        &message_activity("a-1", "m1", "hello", false),
    );
    assert_eq!(hello.status, 200, "{}", hello.text());
    assert_eq!(hello.json()["decision"]["action"], "none");
    assert!(hello.json().get("handoff").is_none());
    c.post_json(
        "/v1/activities",
        &message_activity("a-1", "m2", "Hi Ada, how can I help?", true),
    );
    let mut with_signals = message_activity(
        "a-1",
        "m3",
        "card 4242 4242 4242 4242, now a real person",
        false,
    );
    with_signals["channelData"] =
        json!({"escalate": {"outcome": "no_match", "attributes": {"tier": "gold"}}});
    let answer = c.post_json("/v1/activities", &with_signals);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    assert_eq!(answer["decision"]["action"], "escalate");
    let event = &answer["handoff"];
    assert_eq!(event["type"], "event");
    assert_eq!(event["name"], "handoff.initiate");
    assert_eq!(event["conversation"]["id"], "a-1");
    assert_eq!(event["conversation"]["tenantId"], "t-1");
    assert_eq!(event["channelId"], "msteams");
    assert_eq!(event["serviceUrl"], "https://smba.example/teams/");
    assert_eq!(event["replyToId"], "m3");
    assert_eq!(event["value"]["attributes"]["tier"], "gold");
    let transcript = event["attachments"][0]["content"]["activities"]
        .as_array()
        .unwrap();
    // The policy keeps 3 turns: the user's, the bot's, the user's, redacted.
    let texts: Vec<&str> = transcript
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "hello",
            "Hi Ada, how can I help?",
            "card **** **** **** 4242, now a real person"
        ]
    );
    assert_eq!(transcript[1]["from"]["id"], "bot-1");

    let status = json!({"type": "event", "name": "handoff.status", "value": {"state": "accepted"}, "conversation": {"id": "a-1"}});
    let accepted = c.post_json("/v1/activities", &status).json();
    assert_eq!(accepted["decision"]["phase"], "with_agent");
    assert_eq!(c.get("/v1/conversations/a-1").json()["phase"], "with_agent");

    // A consultation is answered like a handoff: the decision and the
    // `handoff.consult` activity; the agent's answer comes as a status.
    let refund = c
        .post_json(
            "/v1/activities",
            &message_activity("a-3", "r1", "can I have a refund", false),
        )
        .json();
    assert_eq!(refund["decision"]["action"], "consult");
    assert_eq!(refund["decision"]["phase"], "consulting");
    let event = &refund["handoff"];
    assert_eq!(event["name"], "handoff.consult");
    assert_eq!(event["id"], "consult-a-3-1");
    assert_eq!(event["conversation"]["tenantId"], "t-1");
    assert_eq!(
        event["value"]["consult"]["proposal"],
        "Refund the order in full"
    );
    assert_eq!(
        event["attachments"][0]["content"]["activities"][0]["text"],
        "can I have a refund"
    );
    let approved = json!({"type": "event", "name": "handoff.status",
        "value": {"state": "approved", "message": "Refunded."}, "conversation": {"id": "a-3"}});
    let approved = c.post_json("/v1/activities", &approved).json();
    assert_eq!(approved["decision"]["consult"]["answer"], "approved");
    assert_eq!(approved["decision"]["message"], "Refunded.");
    assert!(approved.get("handoff").is_none());
    assert_eq!(c.get("/v1/conversations/a-3").json()["phase"], "bot");

    let typing = c.post_json(
        "/v1/activities",
        &json!({"type": "typing", "conversation": {"id": "a-1"}}),
    );
    assert_eq!(typing.status, 200);
    assert!(
        typing.json()["ignored"]
            .as_str()
            .unwrap()
            .contains("typing")
    );

    let mut bad = message_activity("a-2", "x1", "hi", false);
    bad["channelData"] = json!({"escalate": {"sentimnet": 1}});
    let bad = c.post_json("/v1/activities", &bad);
    assert_eq!(bad.status, 400);
    let bad = bad.json();
    assert_eq!(bad["code"], "invalid_turn");
    assert_eq!(
        bad["errors"][0]["location"]["pointer"],
        "/channelData/escalate"
    );
    assert_eq!(bad["errors"][0]["help"], "did you mean `sentiment`?");
    let no_conversation = c.post_json("/v1/activities", &json!({"type": "message", "text": "hi"}));
    assert_eq!(no_conversation.status, 400);
    assert_eq!(no_conversation.json()["code"], "invalid_activity");
}

#[test]
fn a_token_guards_every_endpoint_but_health() {
    let policy = data("policy.yaml").display().to_string();
    let server = Server::start_with_env(
        &["--policy", &policy],
        &[("ESCALATE_SERVER_TOKEN", "s3cret-token")],
    );
    let mut c = server.client();
    let refused = c.post("/v1/conversations/c/turns", r#"{"text": "hi"}"#);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "unauthorized");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    c.token = Some("s3cret-tokeN".into());
    assert_eq!(c.get("/metrics").status, 401);
    c.token = Some("s3cret".into());
    assert_eq!(c.get("/metrics").status, 401);
    c.token = Some("s3cret-token".into());
    assert_eq!(
        c.post("/v1/conversations/c/turns", r#"{"text": "hi"}"#)
            .status,
        200
    );
    c.token = None;
    assert_eq!(c.get("/health").status, 200);
    assert_eq!(c.get("/ready").status, 200);
    // The flag works too.
    let flagged = start(&["--token", "other"]);
    let mut c = flagged.client();
    assert_eq!(c.get("/v1/conversations/c").status, 401);
    c.token = Some("other".into());
    assert_eq!(c.get("/v1/conversations/c").status, 404);
}

#[test]
fn health_ready_and_metrics() {
    let server = start(&[]);
    let mut c = server.client();
    assert_eq!(c.get("/health").json()["status"], "ok");
    let ready = c.get("/ready").json();
    assert_eq!(
        (ready["status"].as_str(), ready["store"].as_str()),
        (Some("ready"), Some("memory"))
    );
    assert_eq!(ready["policy"]["name"], "server-test");
    c.post("/v1/conversations/m/turns", r#"{"text": "a real person"}"#);
    c.post(
        "/v1/conversations/m/turns",
        r#"{"text": "oops", "outcom": 1}"#,
    );
    let metrics = c.get("/metrics");
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text();
    for line in [
        r#"escalate_http_requests_total{route="/v1/conversations/{id}/turns",status="200"} 1"#,
        r#"escalate_http_requests_total{route="/v1/conversations/{id}/turns",status="400"} 1"#,
        r#"escalate_http_request_duration_seconds_count{route="/v1/conversations/{id}/turns"} 2"#,
        r#"escalate_decisions_total{action="escalate",rule="asks-for-human"} 1"#,
        r#"escalate_policy_info{name="server-test","#,
        "escalate_memory_conversations 1",
        "# TYPE escalate_http_request_duration_seconds histogram",
        "# TYPE escalate_policy_reloads_total counter",
        "# TYPE escalate_store_errors_total counter",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains(r#"escalate_http_request_duration_seconds_bucket{route="/v1/conversations/{id}/turns",le="+Inf"} 2"#));
}

#[test]
fn the_memory_store_is_bounded() {
    let server = start(&["--max-conversations", "64"]);
    let mut c = server.client();
    for i in 0..300 {
        assert_eq!(
            c.post(
                &format!("/v1/conversations/b-{i}/turns"),
                r#"{"text": "hi"}"#
            )
            .status,
            200
        );
    }
    let text = c.get("/metrics").text();
    let held: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("escalate_memory_conversations "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(held <= 64 && held > 0, "{held}");
    assert!(!text.contains("escalate_memory_evictions_total 0"));
    // The most recent is kept.
    assert_eq!(c.get("/v1/conversations/b-299").status, 200);
    let expiring = start(&["--ttl", "1"]);
    let mut c = expiring.client();
    c.post("/v1/conversations/t/turns", r#"{"text": "hi"}"#);
    assert_eq!(c.get("/v1/conversations/t").status, 200);
    assert!(eventually(Duration::from_secs(5), || c
        .get("/v1/conversations/t")
        .status
        == 404));
}

#[test]
fn decision_log_and_drain_on_sigterm() {
    let dir = TempDir::new("log");
    let file = dir.path("decisions.jsonl");
    let server = start(&[
        "--decision-log",
        file.to_str().unwrap(),
        "--log-text",
        "redacted",
    ]);
    let mut c = server.client();
    let made = c
        .post(
            "/v1/conversations/l-1/turns",
            r#"{"text": "my card 4242 4242 4242 4242, a real person please"}"#,
        )
        .json();
    c.post(
        "/v1/conversations/l-1/status",
        r#"{"type": "event", "name": "handoff.status", "value": {"state": "failed"}}"#,
    );
    c.post_json("/v1/evaluate", &json!({"turn": {"text": "hello"}}));
    let mut server = server;
    server.signal("TERM");
    let status = server
        .wait(Duration::from_secs(20))
        .expect("the server stops on SIGTERM");
    assert!(status.success(), "{status:?}\n{}", server.log());
    let log = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    let first = &lines[0];
    assert_eq!(first["decision_id"], made["decision_id"]);
    assert_eq!(first["conversation_id"], "l-1");
    assert_eq!(first["action"], "escalate");
    assert_eq!(first["rule"], "asks-for-human");
    assert_eq!(first["policy"]["name"], "server-test");
    assert_eq!(
        first["text"],
        "my card **** **** **** 4242, a real person please"
    );
    assert!(
        first["latency_us"].is_u64()
            && first["timestamp"].is_string()
            && first["reasons"].is_array()
    );
    assert_eq!(
        (lines[1]["source"].as_str(), lines[2]["source"].as_str()),
        (Some("status"), Some("evaluate"))
    );
    assert!(lines[1].get("text").is_none());

    // To standard output, without the text.
    let mut server = start(&["--decision-log", "-"]);
    server.client().post(
        "/v1/conversations/l-2/turns",
        r#"{"text": "a real person"}"#,
    );
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).unwrap().success());
    let out = server.stdout();
    let line: Value = serde_json::from_str(out.lines().next().expect("a line on stdout")).unwrap();
    assert_eq!(line["conversation_id"], "l-2");
    assert!(line.get("text").is_none());
}

/// Two policies that say which one they are in every decision; the reload
/// test checks that no decision mixes them and that no broken one serves.
const POLICY_B: &str = r#"version: 1
name: server-test-b
messages: { online: "A person will help you (policy B)." }
handoff: { transcript: { turns: 3 } }
rules:
  - { id: asks-for-human-b, when: { keywords: ["real person", "human"] }, kind: fallback, action: escalate, route: { queue: b } }
"#;

#[test]
fn reloads_under_traffic() {
    let dir = TempDir::new("reload");
    let policy = dir.path("policy.yaml");
    let policy_a = std::fs::read_to_string(data("policy.yaml")).unwrap();
    std::fs::write(&policy, &policy_a).unwrap();
    let server = Server::start(&[
        "--policy",
        policy.to_str().unwrap(),
        "--watch",
        "--watch-interval-ms",
        "50",
        "--policy-endpoint",
    ]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let addr = server.addr;
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Client::new(addr);
                let mut seen = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let r = c.post(
                        &format!("/v1/conversations/r-{w}-{i}/turns"),
                        r#"{"text": "a real person please"}"#,
                    );
                    assert_eq!(r.status, 200, "{}", r.text());
                    let d = r.json();
                    seen.push((
                        d["policy"]["name"].as_str().unwrap().to_string(),
                        d["message"].as_str().unwrap().to_string(),
                        d["rule"].as_str().unwrap().to_string(),
                    ));
                }
                seen
            })
        })
        .collect();
    let mut c = server.client();
    let name = |c: &mut Client| {
        c.get("/v1/policy").json()["policy"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let broken = "version: 1\nrules:\n  - id: a\n    priorty: 3\n";
    let failing_tests = format!(
        "{policy_a}  - name: wrong on purpose\n    turns: [{{ text: \"hello\" }}]\n    expect: {{ action: escalate }}\n"
    );
    for _ in 0..3 {
        // SIGHUP after an edit.
        std::fs::write(&policy, POLICY_B).unwrap();
        server.signal("HUP");
        assert!(eventually(Duration::from_secs(10), || name(&mut c) == "server-test-b"));
        // A broken edit, seen by the watcher: refused, B keeps serving.
        std::fs::write(&policy, broken).unwrap();
        assert!(eventually(Duration::from_secs(10), || c
            .get("/v1/policy")
            .json()["last_reload"]["result"]
            == "refused"));
        assert_eq!(name(&mut c), "server-test-b");
        // Back to A, by the watcher.
        std::fs::write(&policy, &policy_a).unwrap();
        assert!(eventually(Duration::from_secs(10), || name(&mut c) == "server-test"));
        // By the endpoint: a broken policy, one that fails its own tests, then B.
        let refused = c.post("/v1/policy", broken);
        assert_eq!(refused.status, 422);
        let refused = refused.json();
        assert_eq!(refused["code"], "policy_invalid");
        assert_eq!(
            refused["errors"][0]["location"],
            json!({"file": "<POST /v1/policy>", "line": 4, "column": 5})
        );
        assert_eq!(refused["errors"][0]["help"], "did you mean `priority`?");
        let failing = c.post("/v1/policy", &failing_tests);
        assert_eq!(failing.status, 422);
        assert_eq!(failing.json()["code"], "policy_tests_failed");
        assert_eq!(
            failing.json()["errors"][0]["location"]["test"],
            "wrong on purpose"
        );
        assert_eq!(name(&mut c), "server-test");
        let posted = c.post("/v1/policy", POLICY_B);
        assert_eq!(posted.status, 200, "{}", posted.text());
        assert_eq!(posted.json()["policy"]["name"], "server-test-b");
        std::fs::write(&policy, &policy_a).unwrap();
        server.signal("HUP");
        assert!(eventually(Duration::from_secs(10), || name(&mut c) == "server-test"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut names = std::collections::BTreeSet::new();
    for worker in workers {
        for (policy, message, rule) in worker.join().unwrap() {
            let expected = match policy.as_str() {
                "server-test" => ("A person will help you (policy A).", "asks-for-human"),
                "server-test-b" => ("A person will help you (policy B).", "asks-for-human-b"),
                other => panic!("policy {other} served"),
            };
            assert_eq!(
                (message.as_str(), rule.as_str()),
                expected,
                "a decision mixed two policies"
            );
            names.insert(policy);
        }
    }
    assert_eq!(names.len(), 2, "traffic saw both policies: {names:?}");
    let metrics = c.get("/metrics").text();
    for line in [
        r#"escalate_policy_reloads_total{trigger="api",result="ok"} 3"#,
        r#"escalate_policy_reloads_total{trigger="api",result="refused"} 6"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    // The watcher and the signal may each see an edit first: both reloaded.
    for trigger in ["signal", "watch"] {
        assert!(metrics.contains(&format!(
            r#"escalate_policy_reloads_total{{trigger="{trigger}",result="ok"}}"#
        )));
    }
    assert!(metrics.contains(r#"escalate_policy_reloads_total{trigger="watch",result="refused"}"#));
}

#[test]
fn the_built_in_policy_by_default() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let d = c
        .post(
            "/v1/conversations/d/turns",
            r#"{"text": "I want to talk to a real person"}"#,
        )
        .json();
    assert_eq!(d["policy"]["name"], "default");
    assert_eq!(d["action"], "escalate");
    // No file to reload: SIGHUP is refused and the built-in policy serves on.
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(10), || c
        .get("/v1/policy")
        .json()["last_reload"]["result"]
        == "refused"));
    assert_eq!(c.get("/ready").status, 200);
}

#[test]
fn a_python_client() {
    let server = start(&[]);
    let output = std::process::Command::new("python3")
        .arg(data("smoke.py"))
        .arg(format!("http://{}", server.addr))
        .output()
        .expect("python3 runs (the smoke test needs it)");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
