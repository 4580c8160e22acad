//! The Redis store with a real `redis-server` (started here on a free port,
//! nothing saved to disk): replicas sharing conversations, concurrent turns
//! to one conversation, a replica killed mid-load, Redis down and back.
//! A machine without `redis-server` fails these tests.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Client, Redis, Server, data, eventually, mixed_turns};
use escalate::{ConversationState, Engine, Turn};
use serde_json::Value;

fn replica(redis: &Redis, extra: &[&str]) -> Server {
    let policy = data("policy.yaml").display().to_string();
    let url = redis.url();
    let mut args = vec!["--policy", policy.as_str(), "--state", url.as_str()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The decisions a sequential run through the library gives for these
/// turns, in this order, as the server answers them (without `decision_id`).
fn sequential(conversation: &str, turns: &[String]) -> Vec<Value> {
    let engine = Engine::from_path(data("policy.yaml")).unwrap();
    let mut state = ConversationState::new();
    turns
        .iter()
        .map(|body| {
            let mut turn = Turn::from_json(body.as_bytes()).unwrap();
            turn.conversation_id = Some(conversation.into());
            serde_json::to_value(engine.evaluate(&mut state, &turn)).unwrap()
        })
        .collect()
}

fn without_id(mut decision: Value) -> Value {
    decision.as_object_mut().unwrap().remove("decision_id");
    decision
}

#[test]
fn replicas_share_conversations() {
    let redis = Redis::start();
    let a = replica(&redis, &[]);
    let b = replica(&redis, &[]);
    let (mut ca, mut cb) = (a.client(), b.client());
    assert_eq!(ca.get("/ready").json()["store"], "redis");
    assert_eq!(
        ca.post("/v1/conversations/s-1/turns", r#"{"text": "hello"}"#)
            .json()["turn"],
        1
    );
    let escalated = cb
        .post(
            "/v1/conversations/s-1/turns",
            r#"{"text": "a real person please"}"#,
        )
        .json();
    assert_eq!(
        (escalated["turn"].as_u64(), escalated["phase"].as_str()),
        (Some(2), Some("waiting"))
    );
    let seen = ca.get("/v1/conversations/s-1").json();
    assert_eq!(
        (seen["phase"].as_str(), seen["turns"].as_u64()),
        (Some("waiting"), Some(2))
    );
    assert_eq!(
        seen["last_decision"]["decision_id"],
        escalated["decision_id"]
    );
    assert!(
        redis
            .command(&["HGET", "escalate:conversation:s-1", "ver"])
            .contains('2')
    );
    let ttl = redis.command(&["TTL", "escalate:conversation:s-1"]);
    assert!(
        ttl.starts_with(':') && ttl.trim()[1..].parse::<i64>().unwrap() > 80_000,
        "{ttl}"
    );
    let accepted = ca.post(
        "/v1/conversations/s-1/status",
        r#"{"type": "event", "name": "handoff.status", "value": {"state": "accepted"}}"#,
    );
    assert_eq!(accepted.json()["phase"], "with_agent");
    assert_eq!(
        cb.get("/v1/conversations/s-1").json()["phase"],
        "with_agent"
    );
    // A replica restarted finds the conversation where it was.
    drop(a);
    let a = replica(&redis, &[]);
    assert_eq!(
        a.client()
            .post("/v1/conversations/s-1/turns", r#"{"text": "thanks"}"#)
            .json()["turn"],
        3
    );
    assert_eq!(cb.delete("/v1/conversations/s-1").status, 204);
    assert_eq!(a.client().get("/v1/conversations/s-1").status, 404);
    // A record some other program wrote is refused, not read as a blank state.
    redis.command(&[
        "HSET",
        "escalate:conversation:bad",
        "ver",
        "1",
        "data",
        r#"{"state": {"v": 99, "turns": 4}}"#,
    ]);
    let bad = cb.post("/v1/conversations/bad/turns", r#"{"text": "hi"}"#);
    assert_eq!(bad.status, 500);
    assert_eq!(bad.json()["code"], "state_unreadable");
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .contains("newer release")
    );
}

/// A replica keeps the records it wrote, to write the next turn in one
/// round trip; what another replica wrote, deleted or let expire since must
/// win over that copy, for turns, for retried turns and for status events.
#[test]
fn a_replica_never_decides_from_a_stale_copy() {
    let redis = Redis::start();
    let a = replica(&redis, &[]);
    let b = replica(&redis, &[]);
    let (mut ca, mut cb) = (a.client(), b.client());
    let turn = |id: &str, text: &str| format!(r#"{{"id": "{id}", "text": "{text}"}}"#);
    let path = "/v1/conversations/st-1/turns";
    assert_eq!(ca.post(path, &turn("m1", "hello")).json()["turn"], 1);
    assert_eq!(cb.post(path, &turn("m2", "thanks")).json()["turn"], 2);
    // A's copy says m1 was the last turn; the stored record says m2 was.
    let again = ca.post(path, &turn("m1", "hello"));
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(again.json()["code"], "duplicate_turn");
    let replayed = ca.post(path, &turn("m2", "thanks"));
    assert_eq!(replayed.header("x-escalate-replayed"), Some("true"));
    assert_eq!(replayed.json()["turn"], 2);
    assert_eq!(ca.post(path, &turn("m3", "ok")).json()["turn"], 3);
    // Deleted through B: A starts afresh, as after an expiry.
    assert_eq!(cb.delete("/v1/conversations/st-1").status, 204);
    assert_eq!(ca.post(path, &turn("m4", "hi")).json()["turn"], 1);
    redis.command(&["DEL", "escalate:conversation:st-1"]);
    assert_eq!(ca.post(path, &turn("m5", "hi")).json()["turn"], 1);
    let stored = cb.get("/v1/conversations/st-1").json();
    assert_eq!(
        (stored["turns"].as_u64(), stored["version"].as_u64()),
        (Some(1), Some(1))
    );
    // Without the copy (--redis-cache 0) every turn reads Redis first.
    let c = replica(&redis, &["--redis-cache", "0"]);
    assert_eq!(c.client().post(path, &turn("m6", "hi")).json()["turn"], 2);
    assert_eq!(ca.post(path, &turn("m7", "hi")).json()["turn"], 3);
}

#[test]
fn concurrent_turns_on_two_replicas_lose_nothing() {
    let redis = Redis::start();
    let a = replica(&redis, &[]);
    let b = replica(&redis, &[]);
    const CONVERSATIONS: usize = 6;
    const TURNS: usize = 24;
    const THREADS: usize = 8;
    let turns: Arc<Vec<Vec<String>>> =
        Arc::new((0..CONVERSATIONS).map(|n| mixed_turns(n, TURNS)).collect());
    // Each thread sends its share of every conversation's turns, half to
    // each replica, all at once: many turns of one conversation race.
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let turns = turns.clone();
            let addrs = [a.addr, b.addr];
            std::thread::spawn(move || {
                let mut clients = addrs.map(Client::new);
                let mut answers = Vec::new();
                for i in (t..TURNS).step_by(THREADS) {
                    for (n, conversation) in turns.iter().enumerate() {
                        let r = clients[(n + i) % 2]
                            .post(&format!("/v1/conversations/k-{n}/turns"), &conversation[i]);
                        assert_eq!(r.status, 200, "{}", r.text());
                        answers.push((n, i, r.json()));
                    }
                }
                answers
            })
        })
        .collect();
    let mut applied: BTreeMap<usize, BTreeMap<u64, (usize, Value)>> = BTreeMap::new();
    for thread in threads {
        for (n, i, decision) in thread.join().unwrap() {
            let turn = decision["turn"].as_u64().unwrap();
            let previous = applied.entry(n).or_default().insert(turn, (i, decision));
            assert!(
                previous.is_none(),
                "two turns of k-{n} were applied as turn {turn}"
            );
        }
    }
    let mut conflicts = 0;
    for (n, by_turn) in &applied {
        // Every turn applied once, numbered 1..=TURNS in the order applied.
        assert_eq!(
            by_turn.keys().copied().collect::<Vec<_>>(),
            (1..=TURNS as u64).collect::<Vec<_>>()
        );
        let order: Vec<String> = by_turn
            .values()
            .map(|(i, _)| turns[*n][*i].clone())
            .collect();
        let expected = sequential(&format!("k-{n}"), &order);
        for ((_, got), want) in by_turn.values().zip(expected) {
            assert_eq!(without_id(got.clone()), want, "k-{n}");
        }
        let stored = Client::new(a.addr)
            .get(&format!("/v1/conversations/k-{n}"))
            .json();
        assert_eq!(stored["turns"], TURNS);
        assert_eq!(stored["version"], TURNS);
    }
    for server in [&a, &b] {
        let metrics = Client::new(server.addr).get("/metrics").text();
        conflicts += metrics
            .lines()
            .find_map(|l| l.strip_prefix("escalate_store_conflicts_total "))
            .unwrap()
            .parse::<u64>()
            .unwrap();
    }
    assert!(conflicts > 0, "the test raced no writes");
}

#[test]
fn a_replica_killed_mid_load_loses_no_acknowledged_turn() {
    let redis = Redis::start();
    let mut a = replica(&redis, &[]);
    let b = replica(&redis, &[]);
    const CONVERSATIONS: usize = 8;
    const TURNS: usize = 40;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addrs = (a.addr, b.addr);
            std::thread::spawn(move || {
                let mut on_a = Client::new(addrs.0);
                let mut on_b = Client::new(addrs.1);
                let mut failed_over = false;
                let mut acknowledged: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
                for i in 0..TURNS {
                    for n in (t..CONVERSATIONS).step_by(4) {
                        let body = &mixed_turns(n, TURNS)[i];
                        let path = format!("/v1/conversations/x-{n}/turns");
                        let answer = loop {
                            // A client that lost replica A sends the same
                            // turn (same id) to B.
                            let client = if failed_over { &mut on_b } else { &mut on_a };
                            match client.try_request("POST", &path, &[], body.as_bytes()) {
                                Ok(r) if r.status == 200 => break r.json(),
                                Ok(r) => panic!("{}: {}", r.status, r.text()),
                                Err(_) => failed_over = true,
                            }
                        };
                        acknowledged.entry(n).or_default().push(answer);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                (acknowledged, failed_over)
            })
        })
        .collect();
    // Kill A (SIGKILL: no drain) once it has answered some turns.
    let mut watcher = Client::new(b.addr);
    assert!(eventually(Duration::from_secs(20), || {
        watcher.get("/v1/conversations/x-0").status == 200
            && watcher.get("/v1/conversations/x-0").json()["turns"].as_u64() >= Some(5)
    }));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let mut failovers = 0;
    for thread in threads {
        let (acknowledged, failed_over) = thread.join().unwrap();
        failovers += usize::from(failed_over);
        for (n, answers) in acknowledged {
            // Each acknowledged turn is in the store, once, in order: the
            // turn numbers answered are 1..=TURNS (a turn re-sent after the
            // kill was either applied then and is answered its decision, or
            // applied now).
            let numbers: Vec<u64> = answers
                .iter()
                .map(|d| d["turn"].as_u64().unwrap())
                .collect();
            assert_eq!(numbers, (1..=TURNS as u64).collect::<Vec<_>>(), "x-{n}");
            let expected = sequential(&format!("x-{n}"), &mixed_turns(n, TURNS));
            for (got, want) in answers.into_iter().zip(expected) {
                assert_eq!(without_id(got), want, "x-{n}");
            }
            let stored = watcher.get(&format!("/v1/conversations/x-{n}")).json();
            assert_eq!(stored["turns"], TURNS, "x-{n}");
            let last = sequential(&format!("x-{n}"), &mixed_turns(n, TURNS))
                .pop()
                .unwrap();
            assert_eq!(
                stored["phase"],
                last.get("phase").cloned().unwrap_or("bot".into()),
                "x-{n}"
            );
        }
    }
    assert!(failovers > 0, "no client lost replica A");
}

#[test]
fn a_store_that_is_down_gives_503_never_a_blank_decision() {
    let mut redis = Redis::start();
    let port = redis.port;
    let server = replica(&redis, &["--store-timeout-ms", "300"]);
    let mut c = server.client();
    assert_eq!(
        c.post("/v1/conversations/d-1/turns", r#"{"text": "hello"}"#)
            .status,
        200
    );
    redis.stop();
    let down = c.post(
        "/v1/conversations/d-1/turns",
        r#"{"text": "a real person"}"#,
    );
    assert_eq!(down.status, 503, "{}", down.text());
    assert_eq!(down.json()["code"], "store_unavailable");
    assert!(
        down.json()["message"]
            .as_str()
            .unwrap()
            .contains("store cannot be reached")
    );
    assert_eq!(
        c.get("/v1/conversations/d-1").json()["code"],
        "store_unavailable"
    );
    assert_eq!(c.delete("/v1/conversations/d-1").status, 503);
    let ready = c.get("/ready");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["code"], "store_unavailable");
    assert_eq!(c.get("/health").status, 200);
    let metrics = c.get("/metrics").text();
    assert!(
        metrics.contains(r#"escalate_store_errors_total{operation="load"}"#),
        "{metrics}"
    );
    // The evaluation that needs no store still answers.
    assert_eq!(
        c.post("/v1/evaluate", r#"{"turn": {"text": "hi"}}"#).status,
        200
    );

    // Redis back (empty, on the same port): ready again, turns served.
    let back = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _back = Kill(back);
    assert!(eventually(Duration::from_secs(15), || c
        .get("/ready")
        .status
        == 200));
    assert_eq!(
        c.post("/v1/conversations/d-2/turns", r#"{"text": "hello"}"#)
            .status,
        200
    );

    // A server started while Redis is down starts, but is not ready.
    let nowhere = Server::start(&[
        "--state",
        &format!("redis://127.0.0.1:{}/0", common::free_port()),
        "--store-timeout-ms",
        "200",
        "--policy",
        data("policy.yaml").to_str().unwrap(),
    ]);
    let mut c = nowhere.client();
    assert_eq!(c.get("/ready").status, 503);
    assert_eq!(
        c.post("/v1/conversations/n/turns", r#"{"text": "hi"}"#)
            .json()["code"],
        "store_unavailable"
    );
}

#[test]
fn a_stalled_store_times_out_and_sigterm_drains() {
    let redis = Redis::start();
    let mut server = replica(
        &redis,
        &["--store-timeout-ms", "5000", "--request-timeout-ms", "1500"],
    );
    let mut c = server.client();
    assert_eq!(
        c.post("/v1/conversations/t-1/turns", r#"{"text": "hello"}"#)
            .status,
        200
    );
    let pid = redis.child.id().to_string();
    let signal = |name: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([name, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    let stalled = c.post("/v1/conversations/t-1/turns", r#"{"text": "hello"}"#);
    assert_eq!(stalled.status, 503, "{}", stalled.text());
    assert_eq!(stalled.json()["code"], "timeout");
    // A request in flight when SIGTERM comes is finished before the exit.
    let addr = server.addr;
    let in_flight = std::thread::spawn(move || {
        Client::new(addr).post(
            "/v1/conversations/t-2/turns",
            r#"{"text": "a real person"}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal("-CONT");
    let answer = in_flight.join().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["action"], "escalate");
    let status = server
        .wait(Duration::from_secs(15))
        .expect("the server stops after the drain");
    assert!(status.success(), "{}", server.log());
}
