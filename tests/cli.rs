//! CLI cases: each `tests/cmd/*.toml` names the arguments, and its
//! `.stdout` / `.stderr` files hold the expected output. After an intended
//! change of output, regenerate with `TRYCMD=overwrite cargo test --test cli`
//! and review the diff. Trycmd normalizes `\` to `/` in snapshots, so an
//! escaped quote `\"` in JSON output reads `/"` there.

#[test]
fn cli_cases() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
