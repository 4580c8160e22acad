//! CLI cases: each `cli/tests/cmd/*.toml` names the arguments, and its
//! `.stdout` / `.stderr` files hold the expected output. The cases run from
//! the workspace root, so their paths (`policies/...`, `tests/data/...`) are
//! the ones a user types there. After an intended change of output,
//! regenerate with `TRYCMD=overwrite cargo test -p escalate-check --test cli`
//! and review the diff. Trycmd normalizes `\` to `/` in snapshots, so an
//! escaped quote `\"` in JSON output reads `/"` there.

use std::path::Path;

#[test]
fn cli_cases() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(cli.parent().expect("the CLI sits in the workspace")).unwrap();
    trycmd::TestCases::new().case(cli.join("tests/cmd/*.toml"));
}
