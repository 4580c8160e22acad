//! `menu`: the user picked one of these menu options (by id or label).
//!
//! ```yaml
//! when: { menu: [chat_with_agent, "Chat with an agent"] }
//! ```

use serde_saphyr::Spanned;

use super::{Ctx, Explanation};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};

/// A compiled `menu` trigger.
#[derive(Debug)]
pub(crate) struct Menu {
    options: Vec<String>,
}

impl Menu {
    pub(crate) fn compile(
        options: &Spanned<Vec<Spanned<String>>>,
        cx: &mut Compiler,
    ) -> Option<Menu> {
        if options.value.is_empty() {
            cx.error_at(options, "empty-list", "`menu` lists no options")
                .set_help("list the option ids or labels that ask for a person, such as `chat_with_agent`");
            return None;
        }
        let mut compiled = Vec::new();
        for option in &options.value {
            let trimmed = option.value.trim();
            if trimmed.is_empty() {
                cx.error_at(option, "empty-phrase", "a menu option is empty");
                continue;
            }
            compiled.push(trimmed.to_lowercase());
        }
        Some(Menu { options: compiled })
    }

    fn picked<'t>(&self, ctx: &Ctx<'t>) -> Option<&'t str> {
        let picked = ctx.turn.menu.as_deref()?.trim();
        self.options
            .iter()
            .any(|o| o.chars().eq(picked.chars().flat_map(char::to_lowercase)))
            .then_some(picked)
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        self.picked(ctx).is_some()
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let option = self.picked(ctx).unwrap_or_default().to_string();
        Explanation {
            trigger: Trigger::Menu,
            detail: format!("menu option \"{option}\" picked"),
            evidence: Evidence::Menu { option },
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!("menu option in [{}]", self.options.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, rule_policy};
    use crate::{Action, Turn};

    #[test]
    fn matches_ids_and_labels_ignoring_case() {
        let policy = rule_policy(r#"{ menu: [chat_with_agent, "Chat with an agent"] }"#);
        let cases = [
            (Some("chat_with_agent"), Action::Escalate),
            (Some("CHAT_WITH_AGENT"), Action::Escalate),
            (Some("  Chat with an agent "), Action::Escalate),
            (Some("check_balance"), Action::None),
            (None, Action::None),
        ];
        for (menu, want) in cases {
            let turn = Turn {
                menu: menu.map(String::from),
                ..Turn::user("")
            };
            assert_eq!(decide(&policy, &[turn]).action, want, "menu {menu:?}");
        }
    }
}
