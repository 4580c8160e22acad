//! Trying a policy without serving it: `/v1/check`, `/v1/preview`,
//! `/v1/tests`, `/v1/stats`, and the `/playground` page behind its flag.
//! Each test starts the real binary.

mod common;

use common::{Server, data};
use escalate::{CheckReport, Engine};
use serde_json::{Value, json};

fn start(extra: &[&str]) -> Server {
    let policy = data("policy.yaml").display().to_string();
    let mut args = vec!["--policy", policy.as_str()];
    args.extend(extra);
    Server::start(&args)
}

/// The served test policy with one more rule, so posted and served differ.
fn posted_policy() -> String {
    std::fs::read_to_string(data("policy.yaml"))
        .unwrap()
        .replace("name: server-test", "name: posted")
        .replace(
            "\ntests:\n",
            "\n  - id: parcel\n    when: { keywords: [parcel] }\n    kind: planned\n    action: offer\ntests:\n",
        )
}

#[test]
fn check_answers_the_cli_report() {
    let server = start(&[]);
    let mut c = server.client();
    let yaml = "version: 1\nrules:\n  - id: a\n    priorty: 3\n    when: { keywords: [x] }\n    kind: fallback\n    action: escalate\n";
    let answer = c.post("/v1/check", yaml);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let report = &body["policies"][0];
    assert_eq!(report["valid"], false);
    let first = &report["diagnostics"][0];
    assert_eq!(first["code"], "unknown-field");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        (&first["line"], &first["column"], &first["end"]),
        (&json!(4), &json!(5), &json!(12))
    );
    assert_eq!(first["message"], "unknown field `priorty`");
    assert_eq!(first["help"], "did you mean `priority`?");
    // The very report `escalate-check check --format json` prints.
    let expected = CheckReport::policy(
        "<policy>",
        &Engine::builder().origin("<policy>").build(yaml),
    );
    assert_eq!(*report, serde_json::to_value(expected).unwrap());
    assert!(
        answer.text().starts_with(r#"{"policies":[{"file":"<policy>","valid":false,"summary":null,"diagnostics":[{"code":"#),
        "fields in the CLI's order: {}",
        answer.text()
    );

    let builtin = c.post("/v1/check", escalate::DEFAULT_POLICY).json();
    let report = &builtin["policies"][0];
    assert_eq!(report["valid"], true);
    assert_eq!(report["summary"]["name"], "default");
    assert_eq!(report["summary"]["hash"], Engine::builtin().id().hash);
    assert_eq!(report["summary"]["rules"], 15);
    assert_eq!(report["diagnostics"], json!([]));

    let broken = c.post("/v1/check", "version: 1\nrules: [\n").json();
    let d = &broken["policies"][0]["diagnostics"][0];
    assert_eq!(broken["policies"][0]["valid"], false);
    assert!(d["line"].as_u64().unwrap() >= 2, "located: {d}");

    let binary = c.request("POST", "/v1/check", &[], b"version: 1\nname: \xff\n");
    assert_eq!(binary.status, 400);
    let binary = binary.json();
    assert_eq!(binary["code"], "invalid_policy");
    assert_eq!(
        binary["errors"][0]["location"],
        json!({"line": 2, "column": 7})
    );
}

#[test]
fn preview_decides_each_turn_from_a_fresh_conversation() {
    let server = start(&[]);
    let mut c = server.client();
    let turns = json!([
        {"text": "hello"},
        {"text": "I want a real person", "id": "m-2"},
        {"type": "event", "name": "handoff.status", "value": {"state": "accepted"}},
        {"text": "still there?"},
        {"type": "event", "name": "handoff.status", "value": {"state": "completed"}},
    ]);
    let answer = c.post_json("/v1/preview", &json!({"turns": turns}));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["policy"]["name"], "server-test", "the policy serving");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    let actions: Vec<&str> = results
        .iter()
        .map(|r| r["decision"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["none", "escalate", "none", "none", "none"]);
    assert_eq!(results[1]["decision"]["rule"], "asks-for-human");
    assert_eq!(results[1]["decision"]["phase"], "waiting");
    assert_eq!(
        results[1]["decision"]["reasons"][0]["evidence"],
        json!({"phrase": "real person", "start": 9, "end": 20})
    );
    let handoff = &results[1]["handoff"];
    assert_eq!(handoff["name"], "handoff.initiate");
    assert_eq!(handoff["value"]["rule"], "asks-for-human");
    assert!(results[0].get("handoff").is_none());
    assert_eq!(results[2]["decision"]["phase"], "with_agent");
    assert_eq!(results[3]["decision"]["phase"], "with_agent");
    assert_eq!(body["phase"], "bot");

    // Nothing is stored: the same request gives the same answer, turn 1 first.
    let again = c.post_json("/v1/preview", &json!({"turns": turns})).json();
    assert_eq!(again["results"][0]["decision"]["turn"], 1);
    assert_eq!(c.get("/v1/conversations/playground").status, 404);

    // A posted policy decides instead of the one serving.
    let posted = c
        .post_json(
            "/v1/preview",
            &json!({"policy": posted_policy(), "turns": [{"text": "my parcel"}]}),
        )
        .json();
    assert_eq!(posted["policy"]["name"], "posted");
    assert_eq!(posted["results"][0]["decision"]["action"], "offer");
    let served = c
        .post_json("/v1/preview", &json!({"turns": [{"text": "my parcel"}]}))
        .json();
    assert_eq!(served["results"][0]["decision"]["action"], "none");
    assert_eq!(
        c.get("/v1/policy").json()["policy"]["name"],
        "server-test",
        "still serving its own"
    );
}

#[test]
fn preview_refusals_are_located_and_bounded() {
    let server = start(&["--max-body", "20000"]);
    let mut c = server.client();

    let unknown = c.post(
        "/v1/preview",
        "{\"turns\": [\n  {\"text\": \"hi\"},\n  {\"text\": \"x\", \"sentimnet\": -0.5}\n]}",
    );
    assert_eq!(unknown.status, 400);
    let unknown = unknown.json();
    assert_eq!(unknown["code"], "invalid_turn");
    let error = &unknown["errors"][0];
    assert_eq!(error["message"], "unknown field `sentimnet`");
    assert_eq!(error["help"], "did you mean `sentiment`?");
    assert_eq!(
        error["location"],
        json!({"pointer": "/turns/1", "line": 3, "column": 17})
    );

    let envelope = c.post("/v1/preview", r#"{"turnz": []}"#);
    assert_eq!(envelope.status, 400);
    let envelope = envelope.json();
    assert_eq!(envelope["code"], "invalid_request");
    assert!(
        envelope["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `turnz`"),
        "{envelope}"
    );
    assert!(
        envelope["errors"][0]["help"]
            .as_str()
            .unwrap()
            .contains(r#""turns""#)
    );
    assert_eq!(envelope["errors"][0]["location"]["line"], 1);

    let bad_yaml = c.post_json(
        "/v1/preview",
        &json!({"policy": "version: 1\nrules:\n  - id: a\n    when: { keywords: [x] }\n    kind: fallback\n    action: escalat\n", "turns": []}),
    );
    assert_eq!(bad_yaml.status, 422);
    let bad_yaml = bad_yaml.json();
    assert_eq!(bad_yaml["code"], "policy_invalid");
    let error = &bad_yaml["errors"][0];
    assert_eq!(error["location"]["line"], 6);
    assert_eq!(error["location"]["column"], 13);
    assert_eq!(error["help"], "did you mean `escalate`?");

    let many: Vec<Value> = (0..501).map(|_| json!({})).collect();
    let too_many = c.post_json("/v1/preview", &json!({"turns": many}));
    assert_eq!(too_many.status, 400);
    let too_many = too_many.json();
    assert_eq!(too_many["code"], "too_many_turns");
    assert_eq!(too_many["errors"][0]["location"]["pointer"], "/turns/500");
    let most: Vec<Value> = (0..500).map(|_| json!({})).collect();
    assert_eq!(
        c.post_json("/v1/preview", &json!({"turns": most})).status,
        200
    );

    let large = format!(r#"{{"turns": [{{"text": "{}"}}]}}"#, "a".repeat(30_000));
    let large = c.post("/v1/preview", &large);
    assert_eq!(large.status, 413);
    assert_eq!(large.json()["code"], "body_too_large");
}

#[test]
fn tests_run_from_the_endpoint() {
    let server = start(&[]);
    let mut c = server.client();
    let served = c.post_json("/v1/tests", &json!({})).json();
    assert_eq!(
        (served["passed"].as_u64(), served["failed"].as_u64()),
        (Some(1), Some(0)),
        "{served}"
    );
    assert_eq!(served["policy"]["name"], "server-test");

    let extra = "tests:\n  - name: wrong on purpose\n    turns: [{ text: \"a real person\" }]\n    expect: { action: none }\n";
    let failing = c
        .post_json(
            "/v1/tests",
            &json!({"policy": posted_policy(), "tests": extra}),
        )
        .json();
    assert_eq!(
        (failing["passed"].as_u64(), failing["failed"].as_u64()),
        (Some(1), Some(1)),
        "{failing}"
    );
    assert_eq!(failing["policy"]["name"], "posted");
    let case = &failing["cases"][1];
    assert_eq!(case["name"], "wrong on purpose");
    assert_eq!(case["passed"], false);
    let mismatch = &case["failures"][0];
    assert_eq!(
        (
            &mismatch["field"],
            &mismatch["expected"],
            &mismatch["actual"]
        ),
        (&json!("action"), &json!("none"), &json!("escalate"))
    );
    assert_eq!(mismatch["decision"]["rule"], "asks-for-human");
    assert!(
        failing["uncovered_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "parcel")
    );

    let invalid = c.post_json(
        "/v1/tests",
        &json!({"tests": "tests:\n  - name: x\n    turnz: []\n"}),
    );
    assert_eq!(invalid.status, 422);
    let invalid = invalid.json();
    assert_eq!(invalid["code"], "tests_invalid");
    assert_eq!(invalid["message"], "the tests are invalid (1 error)");
    assert_eq!(invalid["errors"][0]["location"]["line"], 3);
}

#[test]
fn stats_of_a_dropped_transcript() {
    let server = start(&[]);
    let mut c = server.client();
    let jsonl = [
        r#"{"conversation_id": "a", "text": "hello"}"#,
        r#"{"conversation_id": "a", "text": "a real person please"}"#,
        r#"{"conversation_id": "b", "text": "hi"}"#,
        r#"{"conversation_id": "b", "txt": "typo"}"#,
    ]
    .join("\n");
    let answer = c.post_json(
        "/v1/stats",
        &json!({"transcript": jsonl, "name": "chats.jsonl"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let stats = &body["stats"];
    assert_eq!(
        (stats["conversations"].as_u64(), stats["escalated"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(stats["escalation_rate"], 0.5);
    assert_eq!(stats["rules"], json!({"asks-for-human": 1}));
    assert_eq!(stats["first_escalation_turn"], json!({"2": 1}));
    assert_eq!(body["conversations"][0]["id"], "a");
    assert_eq!(body["conversations"][0]["turn"], 2);
    assert_eq!(
        body["conversations"][0]["texts"],
        json!(["hello", "a real person please"])
    );
    assert_eq!(
        body["conversations"][0]["decisions"][1]["action"],
        "escalate"
    );
    let bad = &body["bad_lines"][0];
    assert_eq!(bad["location"]["line"], 4);
    assert_eq!(bad["help"], "did you mean `text`?");

    let emulator = json!([
        {"type": "message", "from": {"role": "user"}, "conversation": {"id": "e"}, "text": "I want a human"},
        {"type": "message", "from": {"role": "bot"}, "conversation": {"id": "e"}, "text": "one moment"},
    ]);
    let body = c
        .post_json("/v1/stats", &json!({"transcript": emulator.to_string()}))
        .json();
    assert_eq!(body["stats"]["escalation_rate"], 1.0);
    assert_eq!(body["stats"]["turns"], 1);

    let broken = c.post_json(
        "/v1/stats",
        &json!({"transcript": "[{\"type\": \"message\", \"text\": 3}]", "name": "x.transcript"}),
    );
    assert_eq!(broken.status, 400);
    let broken = broken.json();
    assert_eq!(broken["code"], "invalid_transcript");
    assert_eq!(
        broken["message"],
        "x.transcript: activity 1: `text` is `3`, not a string"
    );
}

#[test]
fn the_page_is_served_only_with_its_flag() {
    let off = start(&[]);
    let mut c = off.client();
    let page = c.get("/playground");
    assert_eq!(page.status, 404);
    assert_eq!(page.json()["code"], "not_found");
    assert_eq!(c.get("/playground/playground.js").status, 404);

    let on = start(&["--playground", "--token", "s3cret"]);
    let mut c = on.client();
    let page = c.get("/playground");
    assert_eq!(page.status, 200, "the page itself holds no data: open");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text();
    assert!(html.contains("<textarea id=\"editor\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let script = c.get("/playground/playground.js");
    assert_eq!(script.status, 200);
    assert!(!script.text().contains("https://"));
    assert_eq!(
        c.get("/playground/default.yaml").text(),
        escalate::DEFAULT_POLICY
    );
    assert_eq!(
        c.get("/playground/default.tests.yaml").text(),
        escalate::DEFAULT_TESTS
    );
    // The API behind it still wants the token.
    assert_eq!(c.post("/v1/check", "version: 1\n").status, 401);
    c.token = Some("s3cret".into());
    assert_eq!(c.post("/v1/check", "version: 1\nrules: []\n").status, 200);
}
