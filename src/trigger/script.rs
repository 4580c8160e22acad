//! `script`: a Rhai boolean expression, for what the other triggers cannot say.
//!
//! ```yaml
//! when: { script: 'attributes.tier == "gold" && state.total_failures >= 1' }
//! ```
//!
//! A script sees three maps:
//! - `turn`: `text`, `menu`, `intent`, `confidence`, `sentiment`, `outcome`,
//!   `locale`, `agents_available`, `timestamp` (`()` when absent);
//! - `state`: `turns`, `consecutive_failures`, `total_failures`, `last_rule`;
//! - `attributes`: the turn's attributes.
//!
//! Scripts are compiled when the policy loads, never per turn. They are
//! expressions only: no statements, loops, functions, modules or printing,
//! and unknown variables are refused at load. At run time they are cut off
//! after [`MAX_OPERATIONS`] operations or when a string, array or map grows
//! past its limit; a script that fails or does not return `true` or `false`
//! becomes an error on the decision, and its rule does not fire.

use rhai::{AST, Dynamic, ImmutableString, Map, Position};
use serde_saphyr::Spanned;

use super::{Ctx, Explanation};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};
use crate::error::lowercase_first;
use crate::state::ConversationState;
use crate::turn::Turn;

/// Operations one script may run per turn.
pub const MAX_OPERATIONS: u64 = 10_000;
/// Longest script source accepted, in bytes.
const MAX_SCRIPT_LEN: usize = 4_096;

/// The locked-down Rhai engine that runs every script of a policy.
pub(crate) struct Scripts {
    engine: rhai::Engine,
    /// The variables that some script of the policy mentions; only these
    /// are built on a turn.
    needs: Variables,
}

/// Which of the script variables to build.
#[derive(Clone, Copy, Debug, Default)]
struct Variables {
    turn: bool,
    state: bool,
    attributes: bool,
}

impl Variables {
    const ALL: Variables = Variables {
        turn: true,
        state: true,
        attributes: true,
    };

    /// The variables a script's source mentions as a word. Conservative: a
    /// mention inside a string literal counts too, which only builds a map
    /// that is not needed.
    fn mentioned_in(source: &str) -> Variables {
        let mentions = |name: &str| {
            source.match_indices(name).any(|(at, _)| {
                let ident = |c: char| c.is_alphanumeric() || c == '_';
                !source[..at].ends_with(ident) && !source[at + name.len()..].starts_with(ident)
            })
        };
        Variables {
            turn: mentions("turn"),
            state: mentions("state"),
            attributes: mentions("attributes"),
        }
    }

    fn union(self, other: Variables) -> Variables {
        Variables {
            turn: self.turn || other.turn,
            state: self.state || other.state,
            attributes: self.attributes || other.attributes,
        }
    }
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scripts")
    }
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        let mut engine = rhai::Engine::new();
        engine
            .set_max_operations(MAX_OPERATIONS)
            .set_max_expr_depths(32)
            .set_max_string_size(16_384)
            .set_max_array_size(1_024)
            .set_max_map_size(1_024)
            .set_allow_looping(false)
            .set_allow_shadowing(false)
            .set_strict_variables(true)
            .on_print(|_| {})
            .on_debug(|_, _, _| {});
        engine.disable_symbol("eval");
        Scripts {
            engine,
            needs: Variables::default(),
        }
    }

    /// Sets the variables scripts see to this turn's values: those in
    /// `needs`, and `()` for the others. Values are replaced in place, so a
    /// scope kept from turn to turn allocates only for the values.
    fn fill(
        scope: &mut rhai::Scope<'static>,
        turn: &Turn,
        state: &ConversationState,
        needs: Variables,
    ) {
        let text = |s: &str| Dynamic::from(ImmutableString::from(s));
        let opt_str = |s: Option<&str>| s.map_or(Dynamic::UNIT, text);
        let opt_num = |n: Option<f64>| n.map_or(Dynamic::UNIT, Dynamic::from_float);
        let turn_map = needs.turn.then(|| {
            let mut t = Map::new();
            t.insert("text".into(), text(&turn.text));
            t.insert("menu".into(), opt_str(turn.menu.as_deref()));
            t.insert(
                "intent".into(),
                opt_str(turn.intent.as_ref().map(|i| i.name.as_str())),
            );
            t.insert("confidence".into(), opt_num(turn.top_confidence()));
            t.insert("sentiment".into(), opt_num(turn.sentiment_score()));
            t.insert("outcome".into(), text(turn.outcome.as_str()));
            t.insert("locale".into(), opt_str(turn.locale.as_deref()));
            t.insert(
                "agents_available".into(),
                Dynamic::from_bool(turn.agents_online()),
            );
            t.insert("timestamp".into(), opt_str(turn.timestamp.as_deref()));
            t
        });
        let state_map = needs.state.then(|| {
            let failures = crate::turn::Outcome::FAILURES;
            let mut s = Map::new();
            s.insert("turns".into(), Dynamic::from_int(state.turns().into()));
            s.insert(
                "consecutive_failures".into(),
                Dynamic::from_int(state.consecutive(&failures).into()),
            );
            s.insert(
                "total_failures".into(),
                Dynamic::from_int(state.total(&failures).into()),
            );
            s.insert(
                "last_rule".into(),
                opt_str(state.last_decision().map(|d| &*d.rule)),
            );
            s
        });
        let attributes = needs.attributes.then(|| {
            // Inserting beats `collect`, which sorts and deduplicates first.
            let mut attributes = Map::new();
            for (key, value) in &turn.attributes {
                attributes.insert(key.as_str().into(), json_to_dynamic(value));
            }
            attributes
        });
        let map = |m: Option<Map>| m.map_or(Dynamic::UNIT, Dynamic::from_map);
        set(scope, "turn", map(turn_map));
        set(scope, "state", map(state_map));
        set(scope, "attributes", map(attributes));
    }
}

/// Replaces a variable's value, or adds the variable.
fn set(scope: &mut rhai::Scope<'static>, name: &'static str, value: Dynamic) {
    match scope.get_mut(name) {
        Some(slot) => *slot = value,
        None => {
            scope.push_dynamic(name, value);
        }
    }
}

/// The variables scripts see, kept by each thread from turn to turn (their
/// names and storage, not their values) and filled on the first script of
/// a turn.
#[derive(Default)]
pub(crate) struct ScriptScope {
    scope: rhai::Scope<'static>,
    filled: bool,
}

impl ScriptScope {
    /// Ends a turn: drops the values it filled, so that no turn's data
    /// outlives it on the thread.
    pub(crate) fn release(&mut self) {
        if std::mem::take(&mut self.filled) {
            for name in ["turn", "state", "attributes"] {
                set(&mut self.scope, name, Dynamic::UNIT);
            }
        }
    }
}

fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    use serde_json::Value;
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(items) => Dynamic::from_array(items.iter().map(json_to_dynamic).collect()),
        Value::Object(map) => {
            let mut converted = Map::new();
            for (key, value) in map {
                converted.insert(key.as_str().into(), json_to_dynamic(value));
            }
            Dynamic::from_map(converted)
        }
    }
}

/// A compiled `script` trigger.
#[derive(Debug)]
pub(crate) struct Script {
    ast: AST,
    source: String,
}

impl Script {
    pub(crate) fn compile(source: &Spanned<String>, cx: &mut Compiler) -> Option<Script> {
        if source.value.len() > MAX_SCRIPT_LEN {
            cx.error_at(
                source,
                "script-too-long",
                format!("script is {} bytes long, more than the {MAX_SCRIPT_LEN} allowed", source.value.len()),
            )
            .set_help("scripts are for short conditions; move long logic into the bot and pass its result in `attributes`");
            return None;
        }
        let mut scope = rhai::Scope::new();
        let (turn, state) = (Turn::default(), ConversationState::new());
        Scripts::fill(&mut scope, &turn, &state, Variables::ALL);
        match cx
            .scripts
            .engine
            .compile_expression_with_scope(&scope, &source.value)
        {
            Ok(ast) => {
                let scripts = &mut cx.scripts;
                scripts.needs = scripts.needs.union(Variables::mentioned_in(&source.value));
                Some(Script {
                    ast,
                    source: source.value.clone(),
                })
            }
            Err(e) => {
                let position = e.position();
                let message = e.err_type().to_string();
                let help = if message.contains("Unknown variable")
                    || message.contains("Variable not found")
                {
                    "scripts see only `turn`, `state` and `attributes`"
                } else {
                    "a script is one Rhai expression that gives true or false, such as `attributes.tier == \"gold\"`"
                };
                cx.error_in(
                    source,
                    script_offset(position),
                    "invalid-script",
                    format!("invalid script: {}", lowercase_first(&message)),
                )
                .set_help(help);
                None
            }
        }
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> Result<bool, String> {
        let mut variables = ctx.script_scope.borrow_mut();
        let ScriptScope { scope, filled } = &mut *variables;
        if !*filled {
            Scripts::fill(scope, ctx.turn, ctx.state, ctx.scripts.needs);
            *filled = true;
        }
        match ctx
            .scripts
            .engine
            .eval_ast_with_scope::<Dynamic>(scope, &self.ast)
        {
            Ok(value) => value.as_bool().map_err(|type_name| {
                format!(
                    "script `{}` gave {type_name}, not true or false",
                    self.source
                )
            }),
            Err(e) => Err(format!(
                "script `{}` failed: {}",
                self.source,
                lowercase_first(&e.to_string())
            )),
        }
    }

    pub(crate) fn explain(&self, _ctx: &Ctx) -> Explanation {
        Explanation {
            trigger: Trigger::Script,
            detail: format!("script `{}` is true", self.source),
            evidence: Evidence::Script {
                script: self.source.clone(),
            },
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!("script `{}`", self.source)
    }
}

/// The (line, column) of a script position, both 1-based.
fn script_offset(position: Position) -> (usize, usize) {
    (
        position.line().unwrap_or(1),
        position.position().unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, policy_errors, rule_policy, rule_yaml};
    use crate::{Action, Turn};

    fn gold(tier: &str) -> Turn {
        let mut turn = Turn::user("hello");
        turn.attributes.insert("tier".into(), tier.into());
        turn
    }

    #[test]
    fn scripts_see_turn_state_and_attributes() {
        let cases = [
            (
                r#"attributes.tier == "gold""#,
                gold("gold"),
                Action::Escalate,
            ),
            (r#"attributes.tier == "gold""#, gold("silver"), Action::None),
            (r#"attributes.missing == "x""#, gold("gold"), Action::None),
            (
                r#"turn.text.contains("hell")"#,
                gold("gold"),
                Action::Escalate,
            ),
            (
                "state.turns == 1 && turn.agents_available",
                gold("gold"),
                Action::Escalate,
            ),
            ("turn.sentiment == ()", gold("gold"), Action::Escalate),
        ];
        for (script, turn, want) in cases {
            let policy = rule_policy(&format!("{{ script: '{script}' }}"));
            let d = decide(&policy, &[turn]);
            assert_eq!(d.action, want, "{script}");
            assert!(d.errors.is_empty(), "{script}: {:?}", d.errors);
        }
    }

    /// The variables are kept on the thread from turn to turn, and from
    /// one engine to another: each turn must see only its own values.
    #[test]
    fn each_turn_sees_its_own_values() {
        let by_tier = rule_policy(r#"{ script: 'attributes.tier == "gold"' }"#);
        let by_text = rule_policy(r#"{ script: 'turn.text == "gold"' }"#);
        let mut plain = Turn::user("gold");
        plain.attributes.clear();
        let turns = [
            (&by_tier, gold("gold"), Action::Escalate),
            (&by_tier, plain.clone(), Action::None),
            (&by_text, gold("gold"), Action::None),
            (&by_text, plain.clone(), Action::Escalate),
            (&by_tier, plain.clone(), Action::None),
            (&by_tier, gold("silver"), Action::None),
            (&by_tier, gold("gold"), Action::Escalate),
        ];
        for (i, (engine, turn, want)) in turns.into_iter().enumerate() {
            let d = decide(engine, &[turn]);
            assert_eq!(d.action, want, "turn {i}");
            assert!(d.errors.is_empty(), "turn {i}: {:?}", d.errors);
        }
    }

    #[test]
    fn only_mentioned_variables_are_built() {
        use super::Variables;
        let cases = [
            (r#"attributes.tier == "gold""#, (false, false, true)),
            ("state.turns > 2 && turn.text != \"\"", (true, true, false)),
            ("attributes.returning_customer", (false, false, true)),
            (
                "attributes.statement == turn.sentiment",
                (true, false, true),
            ),
        ];
        for (source, (turn, state, attributes)) in cases {
            let v = Variables::mentioned_in(source);
            assert_eq!(
                (v.turn, v.state, v.attributes),
                (turn, state, attributes),
                "{source}"
            );
        }
    }

    #[test]
    fn runtime_failures_become_decision_errors() {
        let cases = [
            r#"attributes.tier"#,
            r#"turn.text.pad(100000, "x") == """#,
            r#"(1 / 0) > 0"#,
        ];
        for script in cases {
            let policy = rule_policy(&format!("{{ script: '{script}' }}"));
            let d = decide(&policy, &[gold("gold")]);
            assert_eq!(d.action, Action::None, "{script}");
            assert_eq!(d.errors.len(), 1, "{script}");
            assert_eq!(&*d.errors[0].rule, "r");
        }
    }

    #[test]
    fn compile_errors_are_located_in_the_yaml() {
        let cases = [
            ("attributes.tier == ", "invalid-script"),
            ("foo == 1", "invalid-script"),
            ("while true {}", "invalid-script"),
            ("let x = 1; x", "invalid-script"),
            ("eval(\"1\")", "invalid-script"),
        ];
        for (script, code) in cases {
            let errors = policy_errors(&rule_yaml(&format!("{{ script: '{script}' }}")));
            assert_eq!(errors.len(), 1, "{script}: {errors:?}");
            assert_eq!(errors[0].0, code, "{script}");
            assert_eq!(errors[0].1, 3, "{script}: line");
        }
    }
}
