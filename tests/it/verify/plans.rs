//! `verify` reads each statement's real plan after the change: a statement predicted to use the
//! new index and does is named with it; an index whose concurrent build failed (INVALID) serves
//! none of its statements and says so; a statement no index was chosen for whose real plan
//! switched to a new index is attributed to it.

use std::path::PathBuf;

use idxadvise::verify::compare::{IndexResult, StatementResult};
use idxadvise::verify::real_plan::{PlanMatch, RealPlan};
use idxadvise::verify::{Baseline, IndexVerdict, Suggestion, VerifyReport};

use super::verify_json;
use crate::cli::analyze_into;
use crate::support::{cluster, reset_statements, run_times};

/// 200,000 items of 5,000 owners: a lookup by owner reads 40 rows, a sequential scan all.
const ITEMS: &str = "CREATE TABLE vp_item (id bigint PRIMARY KEY, owner_id int NOT NULL, kind int NOT NULL, note text NOT NULL); \
    INSERT INTO vp_item SELECT g, g % 5000, g % 7, md5(g::text) FROM generate_series(1, 200000) g; \
    ANALYZE vp_item";
/// The statement an index on `owner_id` is chosen for.
const BY_OWNER: &str = "SELECT id, note FROM vp_item WHERE owner_id = 42";
/// A second statement any index leading with `owner_id` serves.
const COUNT_KIND: &str = "SELECT count(*) FROM vp_item WHERE owner_id = 17 AND kind = 3";

/// A database with the items and their traffic, analysed into a temporary folder.
struct Analysed {
    db: String,
    url: String,
    out: PathBuf,
    baseline: Baseline,
    /// The queryid of [`BY_OWNER`].
    owner: i64,
    /// The recommended index chosen for [`BY_OWNER`], which its predicted plan uses.
    x: String,
    _tmp: tempfile::TempDir,
}

/// `verify`'s run after the change, its report and the report's text (printed).
struct Verified {
    run: crate::cli::Run,
    report: VerifyReport,
    text: String,
}

impl Verified {
    /// The reported statement `queryid`.
    fn statement(&self, queryid: i64) -> &StatementResult {
        self.report
            .statements
            .iter()
            .find(|s| s.queryid == queryid)
            .unwrap_or_else(|| panic!("statement {queryid} is reported: {}", self.text))
    }

    /// The real plan of the reported statement `queryid`, which was read.
    fn real_plan(&self, queryid: i64) -> &RealPlan {
        self.statement(queryid)
            .real_plan
            .as_ref()
            .expect("its real plan was read")
    }

    /// The reported index `name`.
    fn index(&self, name: &str) -> &IndexResult {
        self.report
            .indexes
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("index {name} is reported: {}", self.text))
    }
}

impl Analysed {
    fn new(name: &str) -> Analysed {
        let c = cluster();
        let db = c.create_database(name);
        c.psql(&db, ITEMS);
        reset_statements(c, &db);
        run_times(&db, BY_OWNER, 60);
        run_times(&db, COUNT_KIND, 60);
        let url = c.url(&db);
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("analysis");
        let (a, _) = analyze_into(&url, None, &out);
        assert_eq!(a.code, 1, "analyze recommends indexes:\n{}", a.stderr);
        let baseline = Baseline::from_json(
            &std::fs::read_to_string(out.join("baseline.json")).expect("baseline.json"),
        )
        .expect("a valid baseline");
        let owner = queryid(&baseline, "SELECT id, note");
        let x = index_for(&baseline, owner);
        Analysed {
            db,
            url,
            out,
            baseline,
            owner,
            x,
            _tmp: tmp,
        }
    }

    /// The statements of indexes.sql, one per line.
    fn script(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.out.join("indexes.sql")).expect("indexes.sql");
        let stmts = text
            .lines()
            .filter(|l| !l.starts_with("--") && !l.is_empty());
        stmts.map(String::from).collect()
    }

    /// The CREATE of [`Analysed::x`] in indexes.sql.
    fn create_x(&self) -> String {
        let is_x = |l: &String| l.starts_with("CREATE ") && l.contains(&self.x);
        self.script()
            .into_iter()
            .find(is_x)
            .expect("the CREATE of x")
    }

    /// Run indexes.sql, each statement on its own; the CREATE of [`Analysed::x`] only `with_x`.
    fn apply(&self, with_x: bool) {
        let skip = (!with_x).then(|| self.create_x());
        for stmt in self.script().iter().filter(|s| Some(*s) != skip.as_ref()) {
            cluster().psql(&self.db, stmt);
        }
    }

    /// The traffic again, after the change, then `verify` (its text printed).
    fn traffic_then_verify(&self) -> Verified {
        run_times(&self.db, BY_OWNER, 30);
        run_times(&self.db, COUNT_KIND, 30);
        let (run, report) = verify_json(&self.url, self.out.to_str().expect("utf-8"));
        let text = idxadvise::verify::render::text(&report);
        eprintln!("{text}");
        Verified { run, report, text }
    }
}

/// The queryid of the baseline statement whose text starts with `prefix`.
fn queryid(baseline: &Baseline, prefix: &str) -> i64 {
    baseline
        .statements
        .iter()
        .find(|s| s.query.starts_with(prefix))
        .unwrap_or_else(|| panic!("no statement {prefix}…: {:#?}", baseline.statements))
        .queryid
}

/// The recommended index chosen for `queryid`, which its predicted plan uses.
fn index_for(baseline: &Baseline, queryid: i64) -> String {
    let ix = baseline
        .indexes
        .iter()
        .find(|i| i.helps.contains(&queryid))
        .unwrap_or_else(|| panic!("no index for {queryid}: {:#?}", baseline.indexes));
    let p = baseline
        .predictions
        .iter()
        .find(|p| p.queryid == queryid)
        .expect("a prediction");
    assert!(p.uses.contains(&ix.name), "{p:?}");
    ix.name.clone()
}

/// (a) A statement predicted to use the new index, and does: its real plan names the index.
/// (c) A statement no index was chosen for (its prediction edited to "unchanged, no index",
/// as when `analyze` did not see it coming) whose real plan switched to a new index: reported,
/// and attributed to that index.
#[test]
fn verify_names_the_new_index_each_real_plan_uses() {
    let a = Analysed::new("vplan_uses");
    let (owner, x) = (a.owner, &a.x);
    let count = queryid(&a.baseline, "SELECT count(*)");
    // Nothing was predicted for the count statement.
    let mut b = a.baseline.clone();
    for ix in &mut b.indexes {
        ix.helps.retain(|q| *q != count);
    }
    let p = b
        .predictions
        .iter_mut()
        .find(|p| p.queryid == count)
        .expect("a prediction for the count");
    p.uses.clear();
    p.after_cost = p.before_cost;
    p.after_ms = p.before_ms;
    std::fs::write(a.out.join("baseline.json"), b.to_json()).expect("write baseline");
    a.apply(true);

    let v = a.traffic_then_verify();
    let text = &v.text;
    assert!(v.report.real_plans_read, "{text}");
    // (a)
    let real = v.real_plan(owner);
    assert_eq!(real.matches, PlanMatch::AsPredicted, "{real:?}\n{text}");
    assert!(real.uses.contains(x), "{real:?}");
    assert!(real.plan.contains(x), "{}", real.plan);
    assert!(
        text.contains(&format!("  {owner}: uses {x}, as predicted")),
        "{text}"
    );
    let ix = v.index(x);
    assert!(ix.real_plan_users.contains(&owner), "{ix:?}");
    assert!(ix.not_served.is_empty(), "{ix:?}");
    assert!(
        ix.reason
            .contains(&format!("real plans using it: statement(s) {owner}")),
        "{}",
        ix.reason
    );
    // (c)
    assert!(!v.statement(count).predicted);
    let real = v.real_plan(count);
    assert_eq!(real.matches, PlanMatch::Unpredicted, "{real:?}\n{text}");
    assert!(!real.uses.is_empty(), "{real:?}");
    for y in &real.uses {
        let ix = v.index(y);
        assert!(ix.real_plan_users.contains(&count), "{ix:?}");
        assert!(ix.uncredited_users.contains(&count), "{ix:?}");
        assert!(
            ix.reason
                .contains(&format!("statement(s) {count} it was not chosen for")),
            "{}",
            ix.reason
        );
    }
    assert!(
        text.contains(&format!(
            "  {count}: uses {} (not predicted)",
            real.uses.join(", ")
        )),
        "{text}"
    );
    let md = std::fs::read_to_string(a.out.join("verify.md")).expect("verify.md");
    assert!(md.contains("## Real plans after the change"), "{md}");
}

/// (b) The index's concurrent build failed (a UNIQUE build over duplicate owners), leaving an
/// INVALID index of the recommended name: reported invalid, and the statement it was chosen
/// for "not served by it", its real plan naming the reason.
#[test]
fn verify_reports_an_invalid_index_and_the_statements_it_does_not_serve() {
    let a = Analysed::new("vplan_invalid");
    let (owner, x) = (a.owner, &a.x);
    a.apply(false);
    let c = cluster();
    let failed = idxadvise::sandbox::psql_command(&c.bindir, c.port, &a.db)
        .arg("-c")
        .arg(format!(
            "CREATE UNIQUE INDEX CONCURRENTLY \"{x}\" ON public.vp_item (owner_id)"
        ))
        .output()
        .expect("run psql");
    assert!(
        !failed.status.success()
            && String::from_utf8_lossy(&failed.stderr).contains("could not create unique index"),
        "{failed:?}"
    );
    let valid = c.psql(
        &a.db,
        &format!("SELECT indisvalid FROM pg_index WHERE indexrelid = '\"{x}\"'::regclass"),
    );
    assert_eq!(valid.trim(), "f", "the failed build left an INVALID index");

    let v = a.traffic_then_verify();
    let text = &v.text;
    assert_eq!(v.run.code, 1, "{text}");
    // Every statement predicted to use the index was planned.
    for s in v.report.statements.iter().filter(|s| s.uses.contains(x)) {
        assert!(
            s.real_plan.is_some(),
            "{}: {text}\n{}",
            s.queryid,
            v.run.stdout
        );
    }
    let ix = v.index(x);
    assert!(ix.exists && !ix.valid, "{ix:?}");
    assert_eq!(ix.verdict, IndexVerdict::Invalid);
    assert_eq!(ix.suggestion, Suggestion::Investigate);
    assert_eq!(ix.building, None, "no build is running");
    assert!(ix.not_served.contains(&owner), "{ix:?}");
    assert!(ix.real_plan_users.is_empty(), "{ix:?}");
    assert!(
        ix.reason.starts_with("INVALID (a failed concurrent build")
            && ix.reason.contains(&owner.to_string())
            && ix
                .reason
                .ends_with("it was chosen for are not served by it"),
        "{}",
        ix.reason
    );
    let real = v.real_plan(owner);
    assert_eq!(real.matches, PlanMatch::Differs, "{real:?}");
    assert_eq!(real.not_used, vec![x.clone()]);
    assert!(!real.uses.contains(x));
    let line = real.summary(&v.statement(owner).uses);
    assert!(
        line.starts_with(&format!("predicted to use {x}; real plan uses"))
            && line.contains(&format!(
                "{x} is INVALID (a failed or cancelled CREATE INDEX CONCURRENTLY)"
            )),
        "{line}"
    );
    assert!(text.contains(&format!("  {owner}: {line}")), "{text}");
}

/// The recommended index is still being built: a `CREATE INDEX CONCURRENTLY` waits for an older
/// transaction (an open REPEATABLE READ snapshot) before it marks the index valid. `verify`
/// reports it INVALID *and* being built (its phase from `pg_stat_progress_create_index`):
/// measure again, not "drop it".
#[test]
fn verify_tells_an_index_still_being_built_from_a_failed_one() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let a = Analysed::new("vplan_building");
    let (owner, x) = (a.owner, &a.x);
    let create = a.create_x();
    a.apply(false);
    let c = cluster();
    // An older snapshot the concurrent build must wait for (ended below, or after 120 s).
    let hold = c.hold_transaction(&a.db, "vplan_hold");
    let started = Instant::now();
    let build = idxadvise::sandbox::psql_command(&c.bindir, c.port, &a.db)
        .arg("-c")
        .arg(&create)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn psql");
    let phase = loop {
        let p = c.psql(
            &a.db,
            &format!(
                "SELECT p.phase FROM pg_stat_progress_create_index p JOIN pg_class i ON i.oid = p.index_relid WHERE i.relname = '{x}'"
            ),
        );
        if p.trim().starts_with("waiting for old snapshots") {
            break p.trim().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the build did not reach its wait: {p:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let v = a.traffic_then_verify();
    // Let the build finish before asserting (a failed assertion must not leave it waiting).
    drop(hold);
    let built = build.wait_with_output().expect("the build ends");
    assert!(built.status.success(), "{built:?}");

    let text = &v.text;
    assert_eq!(v.run.code, 1, "{text}");
    let ix = v.index(x);
    assert!(ix.exists && !ix.valid, "{ix:?}");
    assert_eq!(ix.verdict, IndexVerdict::Invalid);
    assert_eq!(ix.building.as_deref(), Some(phase.as_str()), "{ix:?}");
    assert_eq!(ix.suggestion, Suggestion::MeasureAgain, "{}", ix.reason);
    assert_eq!(ix.drop_sql, None);
    assert!(
        ix.reason.starts_with(&format!(
            "not valid yet: CREATE INDEX is still running ({phase})"
        )) && ix.not_served.contains(&owner),
        "{ix:?}"
    );
    let real = v.real_plan(owner);
    assert_eq!(real.matches, PlanMatch::Differs, "{real:?}");
    assert!(
        real.reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("{x} is still being built ({phase})"))),
        "{real:?}"
    );
}

/// A recommended index built with a plain CREATE INDEX (Django's `AddIndex`) over rows updated
/// under an older, still running transaction: valid, but the planner leaves it out until that
/// transaction ends (pg_index.indcheckxmin). Its statements are no faster and their real plans
/// do not use it, which says nothing about the index: "not usable yet", measure again; never
/// "regression" or "unused".
#[test]
fn verify_says_an_index_the_planner_cannot_use_yet_is_to_measure_again() {
    let a = Analysed::new("vplan_not_ready");
    let (owner, x) = (a.owner, &a.x);
    let plain = a.create_x().replace(" CONCURRENTLY", "");
    a.apply(false);
    let c = cluster();
    // Room on every page, so that the update below is a HOT update (same page).
    c.psql(&a.db, "ALTER TABLE vp_item SET (fillfactor = 50)");
    c.psql(&a.db, "VACUUM FULL ANALYZE vp_item");
    let hold = c.hold_transaction(&a.db, "vplan_not_ready_hold");
    c.psql(&a.db, "UPDATE vp_item SET kind = kind WHERE id <= 500");
    c.psql(&a.db, &plain);
    assert_eq!(
        c.psql(
            &a.db,
            &format!("SELECT indcheckxmin FROM pg_index WHERE indexrelid = '{x}'::regclass")
        )
        .trim(),
        "t",
        "built over broken HOT chains"
    );
    let v = a.traffic_then_verify();
    drop(hold);

    let text = &v.text;
    assert_eq!(v.run.code, 1, "{text}");
    let ix = v.index(x);
    assert!(ix.exists && ix.valid, "{ix:?}");
    assert_eq!(ix.verdict, IndexVerdict::NotReady, "{text}");
    assert_eq!(ix.suggestion, Suggestion::MeasureAgain, "{}", ix.reason);
    assert_eq!(ix.drop_sql, None);
    assert!(ix.reason.contains("indcheckxmin"), "{}", ix.reason);
    let real = v.real_plan(owner);
    assert_eq!(real.matches, PlanMatch::Differs, "{real:?}");
    assert!(
        real.reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("{x} is not used by the planner yet"))),
        "{real:?}"
    );
}
