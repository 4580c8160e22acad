//! Prometheus text exposition, written by hand (a few counters and one
//! histogram do not need a metrics crate).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct RouteFigures {
    statuses: BTreeMap<u16, u64>,
    /// Per bucket (not cumulative), then the overflow.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<HashMap<String, RouteFigures>>,
    /// By action, then by rule (`""`: none).
    decisions: Mutex<HashMap<&'static str, HashMap<Box<str>, u64>>>,
    reloads: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    store_errors: Mutex<BTreeMap<&'static str, u64>>,
    pub store_conflicts: AtomicU64,
    pub decision_log_dropped: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        let mut routes = lock(&self.routes);
        let figures = match routes.get_mut(route) {
            Some(figures) => figures,
            None => routes.entry(route.to_string()).or_default(),
        };
        *figures.statuses.entry(status).or_default() += 1;
        figures.buckets[bucket] += 1;
        figures.sum += seconds;
        figures.count += 1;
    }

    pub fn decision(&self, action: &'static str, rule: Option<&str>) {
        let mut decisions = lock(&self.decisions);
        let by_rule = decisions.entry(action).or_default();
        let rule = rule.unwrap_or("");
        // The rule's name is copied only the first time it decides.
        match by_rule.get_mut(rule) {
            Some(count) => *count += 1,
            None => {
                by_rule.insert(rule.into(), 1);
            }
        }
    }

    /// A reload by `trigger` (`signal`, `watch`, `api`) that ended `result`
    /// (`ok`, `refused`).
    pub fn reload(&self, trigger: &'static str, result: &'static str) {
        *lock(&self.reloads).entry((trigger, result)).or_default() += 1;
    }

    pub fn store_error(&self, operation: &'static str) {
        *lock(&self.store_errors).entry(operation).or_default() += 1;
    }

    pub fn render(&self, policy: &escalate::PolicyId, memory: Option<(usize, u64)>) -> String {
        let mut out = String::with_capacity(4096);
        let _ = self.write(&mut out, policy, memory);
        out
    }

    fn write(
        &self,
        out: &mut String,
        policy: &escalate::PolicyId,
        memory: Option<(usize, u64)>,
    ) -> std::fmt::Result {
        let routes = lock(&self.routes);
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        writeln!(
            out,
            "# HELP escalate_http_requests_total HTTP requests answered, by route and status."
        )?;
        writeln!(out, "# TYPE escalate_http_requests_total counter")?;
        for name in &names {
            for (status, count) in &routes[*name].statuses {
                writeln!(
                    out,
                    "escalate_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                    escape(name)
                )?;
            }
        }
        writeln!(
            out,
            "# HELP escalate_http_request_duration_seconds Time to answer a request, by route."
        )?;
        writeln!(
            out,
            "# TYPE escalate_http_request_duration_seconds histogram"
        )?;
        for name in &names {
            let figures = &routes[*name];
            let route = escape(name);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(figures.buckets) {
                cumulative += count;
                writeln!(
                    out,
                    "escalate_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                )?;
            }
            writeln!(
                out,
                "escalate_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                figures.count
            )?;
            writeln!(
                out,
                "escalate_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                figures.sum
            )?;
            writeln!(
                out,
                "escalate_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                figures.count
            )?;
        }
        drop(routes);
        let decisions = lock(&self.decisions);
        let mut sorted: Vec<_> = decisions
            .iter()
            .flat_map(|(action, by_rule)| by_rule.iter().map(move |(rule, n)| ((*action, rule), n)))
            .collect();
        sorted.sort();
        writeln!(
            out,
            "# HELP escalate_decisions_total Decisions made, by action and deciding rule."
        )?;
        writeln!(out, "# TYPE escalate_decisions_total counter")?;
        for ((action, rule), count) in sorted {
            writeln!(
                out,
                "escalate_decisions_total{{action=\"{action}\",rule=\"{}\"}} {count}",
                escape(rule)
            )?;
        }
        drop(decisions);
        writeln!(
            out,
            "# HELP escalate_policy_reloads_total Policy reloads, by trigger and result."
        )?;
        writeln!(out, "# TYPE escalate_policy_reloads_total counter")?;
        for ((trigger, result), count) in lock(&self.reloads).iter() {
            writeln!(
                out,
                "escalate_policy_reloads_total{{trigger=\"{trigger}\",result=\"{result}\"}} {count}"
            )?;
        }
        writeln!(out, "# HELP escalate_policy_info The policy serving now.")?;
        writeln!(out, "# TYPE escalate_policy_info gauge")?;
        writeln!(
            out,
            "escalate_policy_info{{name=\"{}\",hash=\"{}\"}} 1",
            escape(&policy.name),
            policy.hash
        )?;
        writeln!(
            out,
            "# HELP escalate_store_errors_total Failed state store operations, by operation."
        )?;
        writeln!(out, "# TYPE escalate_store_errors_total counter")?;
        for (operation, count) in lock(&self.store_errors).iter() {
            writeln!(
                out,
                "escalate_store_errors_total{{operation=\"{operation}\"}} {count}"
            )?;
        }
        writeln!(
            out,
            "# HELP escalate_store_conflicts_total Compare-and-set writes that lost to a concurrent write and were retried."
        )?;
        writeln!(out, "# TYPE escalate_store_conflicts_total counter")?;
        writeln!(
            out,
            "escalate_store_conflicts_total {}",
            self.store_conflicts.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP escalate_decision_log_dropped_total Decision log lines dropped because the writer fell behind."
        )?;
        writeln!(out, "# TYPE escalate_decision_log_dropped_total counter")?;
        writeln!(
            out,
            "escalate_decision_log_dropped_total {}",
            self.decision_log_dropped.load(Ordering::Relaxed)
        )?;
        if let Some((held, evicted)) = memory {
            writeln!(
                out,
                "# HELP escalate_memory_conversations Conversations held by the memory store."
            )?;
            writeln!(out, "# TYPE escalate_memory_conversations gauge")?;
            writeln!(out, "escalate_memory_conversations {held}")?;
            writeln!(
                out,
                "# HELP escalate_memory_evictions_total Conversations the memory store evicted to stay within --max-conversations."
            )?;
            writeln!(out, "# TYPE escalate_memory_evictions_total counter")?;
            writeln!(out, "escalate_memory_evictions_total {evicted}")?;
        }
        Ok(())
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
