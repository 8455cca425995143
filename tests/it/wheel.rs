//! The Python wheel (issue 16), driven as a Django team would use it. `.ci/wheel` builds the
//! wheel (maturin, checked by auditwheel) and installs it into fresh venvs (pip on Django 4.2,
//! 5.2 and the newest; uv on the newest); these tests run what the venvs hold: `idxadvise
//! --version`, `idxadvise demo` from an empty folder, and `python manage.py idxadvise
//! check|analyze|verify` in a copy of the example project whose database role logs in with a
//! password (scram-sha-256), which must never show in the output or any process's command line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{repo_root, Cluster, ClusterOptions};

/// Needs URL-encoding (space, `@`, `#`, `!`, `%`, `/`) and shell quoting: a password that a
/// careless command line or URL would break or leak.
const PASSWORD: &str = "Qu!et P@ss#7%w/rd";
const ROLE: &str = "shopper";

/// What `.ci/wheel` built and installed.
struct Wheel {
    path: PathBuf,
    tag: String,
    bytes: u64,
    venvs: Vec<Venv>,
}

struct Venv {
    label: String,
    installer: String,
    python: PathBuf,
    django: String,
}

impl Venv {
    fn bin(&self) -> PathBuf {
        self.python.parent().expect("venv bin").join("idxadvise")
    }
}

fn wheel() -> &'static Wheel {
    static W: OnceLock<Wheel> = OnceLock::new();
    W.get_or_init(|| {
        // `.ci/test` runs .ci/wheel before the tests and hands its output over: running it again
        // here would relink the binary (cargo test built it without maturin's strip) and so
        // rebuild every venv.
        let text = match std::env::var_os("IDXADVISE_WHEEL_LIST") {
            Some(list) => std::fs::read_to_string(&list)
                .unwrap_or_else(|e| panic!("IDXADVISE_WHEEL_LIST {list:?}: {e}")),
            None => {
                let out = Command::new("bash")
                    .arg(repo_root().join(".ci/wheel"))
                    .stderr(Stdio::inherit())
                    .output()
                    .expect("run .ci/wheel");
                assert!(
                    out.status.success(),
                    ".ci/wheel failed (its stderr is above)"
                );
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
        };
        let mut wheel = None;
        let mut venvs = vec![];
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["wheel", path, tag, bytes] => {
                    wheel = Some((PathBuf::from(path), tag.to_string(), bytes.parse().unwrap()))
                }
                ["venv", label, installer, python, django] => venvs.push(Venv {
                    label: label.to_string(),
                    installer: installer.to_string(),
                    python: PathBuf::from(python),
                    django: django.to_string(),
                }),
                _ => panic!("unexpected .ci/wheel line {line:?}"),
            }
        }
        let (path, tag, bytes) = wheel.expect("a `wheel` line from .ci/wheel");
        Wheel {
            path,
            tag,
            bytes,
            venvs,
        }
    })
}

fn venv(label: &str) -> &'static Venv {
    wheel()
        .venvs
        .iter()
        .find(|v| v.label == label)
        .unwrap_or_else(|| panic!("no venv {label} from .ci/wheel"))
}

fn tools() -> PathBuf {
    repo_root().join("target/wheel-tools/bin")
}

/// (exit code, stdout, stderr) of a finished command.
fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .env_remove("DATABASE_URL")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .env_remove("PGPASSWORD")
        .env_remove("IDXADVISE_DEMO_PYTHON")
        .output()
        .expect("run command");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn wheel_is_manylinux_and_holds_the_binary_and_the_django_app_only() {
    let w = wheel();
    assert!(w.tag.starts_with("manylinux_2_"), "tag {}", w.tag);
    let name = w.path.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with(&format!("idxadvise-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    eprintln!("wheel: {name}, {} bytes, {}", w.bytes, w.tag);
    let (code, listing, err) = run(Command::new(tools().join("python"))
        .args([
            "-c",
            "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
        ])
        .arg(&w.path));
    assert_eq!(code, 0, "{err}");
    let files: Vec<&str> = listing.lines().collect();
    for needed in [
        "idxadvise/__init__.py",
        "idxadvise/django/apps.py",
        "idxadvise/django/management/commands/idxadvise.py",
    ] {
        assert!(
            files.contains(&needed),
            "{needed} missing from the wheel:\n{listing}"
        );
    }
    assert!(
        files.iter().any(|f| f.ends_with(".data/scripts/idxadvise")),
        "no binary in the wheel:\n{listing}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.contains("tests/") || f.ends_with(".sql") || f.contains("snapshots")),
        "test data in the wheel:\n{listing}"
    );
}

#[test]
fn every_venv_gives_the_idxadvise_command_and_the_package_finds_it() {
    let want = format!("idxadvise {}", env!("CARGO_PKG_VERSION"));
    let labels = [
        "pip-django-4.2",
        "pip-django-5.2",
        "pip-django-newest",
        "uv-django-newest",
    ];
    for label in labels {
        let v = venv(label);
        let (code, out, err) = run(Command::new(v.bin()).arg("--version"));
        assert_eq!((code, out.trim()), (0, want.as_str()), "{label}: {err}");
        let (code, out, err) = run(Command::new(&v.python).args(["-m", "idxadvise", "--version"]));
        assert_eq!((code, out.trim()), (0, want.as_str()), "{label} -m: {err}");
        let (code, out, err) = run(Command::new(&v.python)
            .args(["-c", "import idxadvise; print(idxadvise.find_binary())"]));
        assert_eq!(code, 0, "{label}: {err}");
        assert_eq!(Path::new(out.trim()), v.bin(), "{label}");
        eprintln!("{label}: {} Django {}", v.installer, v.django);
    }
    assert!(
        venv("pip-django-4.2").django.starts_with("4.2."),
        "{}",
        venv("pip-django-4.2").django
    );
    assert!(
        venv("pip-django-5.2").django.starts_with("5.2"),
        "{}",
        venv("pip-django-5.2").django
    );
}

#[test]
fn uvx_uv_tool_install_and_pipx_run_give_the_command() {
    let w = wheel();
    let want = format!("idxadvise {}", env!("CARGO_PKG_VERSION"));
    let home = tempfile::tempdir().unwrap();
    let uv = tools().join("uv");
    let envs = [
        ("UV_CACHE_DIR", home.path().join("uv-cache")),
        ("UV_TOOL_DIR", home.path().join("uv-tools")),
        ("UV_TOOL_BIN_DIR", home.path().join("bin")),
        ("PIPX_HOME", home.path().join("pipx")),
        ("PIPX_BIN_DIR", home.path().join("bin")),
    ];
    let (code, out, err) = run(Command::new(&uv)
        .envs(envs.clone())
        .args(["tool", "run", "--offline", "--from"])
        .arg(&w.path)
        .args(["idxadvise", "--version"]));
    assert_eq!((code, out.trim()), (0, want.as_str()), "uvx: {err}");
    let (code, _, err) = run(Command::new(&uv)
        .envs(envs.clone())
        .args(["tool", "install", "--offline"])
        .arg(&w.path));
    assert_eq!(code, 0, "uv tool install: {err}");
    let (code, out, err) = run(Command::new(home.path().join("bin/idxadvise")).arg("--version"));
    assert_eq!((code, out.trim()), (0, want.as_str()), "uv tool: {err}");
    let (code, out, err) = run(Command::new(tools().join("pipx"))
        .envs(envs)
        .args(["run", "--spec"])
        .arg(&w.path)
        .args(["idxadvise", "--version"]));
    assert_eq!((code, out.trim()), (0, want.as_str()), "pipx run: {err}");
}

#[test]
fn demo_runs_from_an_empty_folder_with_the_venvs_django() {
    let v = venv("pip-django-newest");
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, err) = run(Command::new(v.bin()).arg("demo").current_dir(cwd.path()));
    assert_eq!(code, 0, "demo failed:\n{out}\n{err}");
    assert!(
        err.contains(&format!(
            "runs with {}",
            v.bin().parent().unwrap().display()
        )),
        "the demo did not take the Python next to the binary:\n{err}"
    );
    let out_dir = cwd.path().join("idxadvise-demo-out");
    for f in ["report.md", "indexes.sql", "baseline.json"] {
        assert!(out_dir.join(f).is_file(), "{f} missing; stdout:\n{out}");
    }
    let migrations: Vec<_> = std::fs::read_dir(out_dir.join("shop/migrations"))
        .expect("shop/migrations written")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".py"))
        .collect();
    assert!(!migrations.is_empty(), "no migrations written");
    // Nothing but the output folder is left in the folder, and no example copy lingers.
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn demo_without_hypopg_says_what_to_install_per_system() {
    let v = venv("pip-django-4.2");
    let real = idxadvise::sandbox::find_bindir().expect("PostgreSQL server binaries");
    let fake = tempfile::tempdir().unwrap();
    for bin in ["initdb", "pg_ctl"] {
        std::os::unix::fs::symlink(real.join(bin), fake.path().join(bin)).unwrap();
    }
    // A server whose share folder has no HypoPG.
    let share = fake.path().join("share");
    std::fs::create_dir_all(share.join("extension")).unwrap();
    let pg_config = fake.path().join("pg_config");
    std::fs::write(&pg_config, format!("#!/bin/sh\necho {}\n", share.display())).unwrap();
    std::fs::set_permissions(
        &pg_config,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (code, _, err) = run(Command::new(v.bin())
        .arg("demo")
        .current_dir(cwd.path())
        .env("IDXADVISE_PG_BINDIR", fake.path()));
    assert_eq!(code, idxadvise::error::EXIT_PREREQUISITE, "{err}");
    for needed in [
        "HypoPG is not installed",
        "Debian 12",
        "postgresql-15-hypopg",
        "PGDG apt repository",
        "hypopg_17",
        "brew install postgresql@17",
        "IDXADVISE_PG_BINDIR",
    ] {
        assert!(err.contains(needed), "lacks {needed:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// A cluster where [`ROLE`] logs in with [`PASSWORD`] (scram-sha-256) and may do what
/// idxadvise asks, with a template database holding the example shop.
fn scram() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let c = Cluster::start_with(&ClusterOptions {
            hba_first: format!("host all {ROLE} 127.0.0.1/32 scram-sha-256"),
            ..ClusterOptions::default()
        });
        c.psql(
            "postgres",
            &format!(
                "SET password_encryption = 'scram-sha-256';
                 CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}';
                 GRANT pg_monitor, pg_read_all_data TO {ROLE};
                 GRANT SET ON PARAMETER pg_stat_statements.track TO {ROLE};"
            ),
        );
        c.psql("postgres", "CREATE DATABASE shop_template");
        c.psql_file(
            "shop_template",
            &repo_root().join("examples/shop/schema.sql"),
        );
        c.psql_file("shop_template", &repo_root().join("examples/shop/data.sql"));
        c
    })
}

/// A database copied from the example shop with its API workload replayed.
fn shop_database(name: &str) -> &'static Cluster {
    let c = scram();
    c.psql(
        "postgres",
        &format!("CREATE DATABASE {name} TEMPLATE shop_template"),
    );
    c.psql(name, "ANALYZE");
    c.psql(
        "postgres",
        &format!("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = '{name}'), 0)"),
    );
    {
        // A timed replay, as `replay_workload`'s: never under another test's heavy load (the
        // machine's CPU is shared by every cluster).
        let _quiet = crate::support::replays()
            .read()
            .unwrap_or_else(|p| p.into_inner());
        c.psql_file(name, &repo_root().join("examples/shop/workload.sql"));
    }
    c
}

/// A copy of the example project with `idxadvise.django` installed and two aliases on the
/// database: `default` (writes) and `replica` (reads, by a router), both with the password.
fn django_project(db: &str, port: u16) -> tempfile::TempDir {
    let dir = crate::django::copy_project();
    let settings = dir.path().join("shopsite/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        r#"
INSTALLED_APPS = INSTALLED_APPS + ["idxadvise.django"]
_db = {{
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "{db}",
    "USER": "{ROLE}",
    "PASSWORD": "{PASSWORD}",
    "HOST": "127.0.0.1",
    "PORT": "{port}",
    "OPTIONS": {{"sslmode": "disable", "application_name": "shop"}},
}}
DATABASES = {{"default": _db, "replica": dict(_db, TEST={{"MIRROR": "default"}})}}
DATABASE_ROUTERS = ["shopsite.routers.PrimaryReplica"]
"#
    ));
    std::fs::write(&settings, text).unwrap();
    std::fs::write(
        dir.path().join("shopsite/routers.py"),
        "class PrimaryReplica:\n    def db_for_read(self, model, **hints):\n        return \"replica\"\n\n    def db_for_write(self, model, **hints):\n        return \"default\"\n",
    )
    .unwrap();
    dir
}

/// What one `manage.py idxadvise …` run gave, with what was seen in the process list while it
/// ran.
struct Watched {
    code: i32,
    stdout: String,
    stderr: String,
    /// Command lines of idxadvise processes seen while the command ran.
    seen_binary: Vec<String>,
    /// Every process command line that held the password.
    leaked: Vec<String>,
    /// Whether an idxadvise process had DATABASE_URL in its environment.
    env_url: bool,
}

fn read_proc(path: &Path) -> Option<String> {
    let mut buf = vec![];
    std::fs::File::open(path).ok()?.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).replace('\0', " "))
}

/// Run `python manage.py idxadvise args…` in `project`, scanning /proc/*/cmdline every few
/// milliseconds until it ends. `recorded`: the binary is started through a wrapper
/// (`IDXADVISE_BIN`) that records its arguments and whether DATABASE_URL was set, then execs
/// it: for runs too short for the scan to be sure to see them.
fn manage_watched(v: &Venv, project: &Path, args: &[&str], recorded: bool) -> Watched {
    let logs = tempfile::tempdir().unwrap();
    let out_path = logs.path().join("out");
    let err_path = logs.path().join("err");
    let mut cmd = Command::new(&v.python);
    if recorded {
        let wrapper = logs.path().join("idxadvise-wrapper");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nprintf '%s ' \"$0\" \"$@\" > '{d}/args'\ncase \"$DATABASE_URL\" in postgresql://*) echo yes > '{d}/env_url';; esac\nexec '{bin}' \"$@\"\n",
                d = logs.path().display(),
                bin = v.bin().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        cmd.env("IDXADVISE_BIN", &wrapper);
    }
    let mut child = cmd
        .arg("manage.py")
        .arg("idxadvise")
        .args(args)
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // No 60 s observation window per command (tests/it/window.rs tests the window).
        .env("IDXADVISE_WINDOW", "0")
        .env_remove("DATABASE_URL")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run manage.py");
    let bin = v.bin().display().to_string();
    let (mut seen_binary, mut leaked, mut env_url) = (vec![], vec![], false);
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "manage.py idxadvise {args:?} hangs"
        );
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(cmd) = read_proc(&e.path().join("cmdline")) else {
                continue;
            };
            if cmd.contains(PASSWORD) || cmd.contains(&PASSWORD.replace(' ', "%20")) {
                leaked.push(cmd.clone());
            }
            if cmd.starts_with(&bin) {
                if !seen_binary.contains(&cmd) {
                    seen_binary.push(cmd.clone());
                }
                if let Some(env) = read_proc(&e.path().join("environ")) {
                    env_url |= env.contains("DATABASE_URL=postgresql://");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if recorded {
        let args = std::fs::read_to_string(logs.path().join("args"))
            .expect("the wrapper ran: idxadvise was started through IDXADVISE_BIN");
        if args.contains(PASSWORD) {
            leaked.push(args.clone());
        }
        seen_binary.push(args.replacen(
            &logs.path().join("idxadvise-wrapper").display().to_string(),
            &bin,
            1,
        ));
        env_url |= logs.path().join("env_url").exists();
    }
    Watched {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        seen_binary,
        leaked,
        env_url,
    }
}

impl Watched {
    fn assert_no_password(&self, what: &str) {
        let encoded = "Qu%21et%20P%40ss%237%25w%2Frd";
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains(PASSWORD) && !text.contains(encoded),
                "{what} printed the password:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
        assert!(
            self.leaked.is_empty(),
            "{what}: the password was in a process's command line: {:?}",
            self.leaked
        );
        assert!(
            !self.seen_binary.is_empty(),
            "{what}: the idxadvise process was never seen in /proc (the scan proves nothing)"
        );
        assert!(
            self.env_url,
            "{what}: the connection did not reach idxadvise through DATABASE_URL"
        );
    }
}

/// `manage.py idxadvise analyze` on one Django version: reads go to the replica alias, the
/// migrations come from the project's own Django, the password stays out of sight.
fn analyze_through_manage_py(label: &str, db: &str) {
    let v = venv(label);
    let c = shop_database(db);
    let project = django_project(db, c.port);
    let w = manage_watched(v, project.path(), &["analyze"], false);
    w.assert_no_password(label);
    assert_eq!(
        w.code,
        idxadvise::error::EXIT_RECOMMENDATIONS,
        "{label}: analyze should recommend indexes for the example shop:\n{}\n{}",
        w.stdout,
        w.stderr
    );
    assert!(
        w.stderr.contains("reads are routed to 'replica'"),
        "{label}: {}",
        w.stderr
    );
    let cmd = &w.seen_binary[0];
    for arg in [
        "analyze",
        "--django-project",
        "--python",
        "--settings shopsite.settings",
        "--out idxadvise-out",
    ] {
        assert!(cmd.contains(arg), "{label}: {arg} not passed: {cmd}");
    }
    assert!(
        cmd.contains(&v.python.display().to_string()),
        "{label}: {cmd}"
    );
    let out = project.path().join("idxadvise-out");
    assert!(out.join("indexes.sql").is_file(), "{label}: {}", w.stderr);
    let migrations: Vec<_> = std::fs::read_dir(out.join("shop/migrations"))
        .expect("shop/migrations written")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        migrations
            .iter()
            .any(|m| m.contains("AddIndexConcurrently")),
        "{label}: no AddIndexConcurrently migration"
    );
}

#[test]
fn manage_py_analyze_on_django_4_2() {
    analyze_through_manage_py("pip-django-4.2", "wheel_dj42");
}

#[test]
fn manage_py_analyze_on_django_5_2() {
    analyze_through_manage_py("pip-django-5.2", "wheel_dj52");
}

#[test]
fn manage_py_analyze_on_the_newest_django_from_uv() {
    analyze_through_manage_py("uv-django-newest", "wheel_newest");
}

#[test]
fn manage_py_check_analyze_verify_flow_with_explicit_aliases() {
    let v = venv("pip-django-newest");
    let db = "wheel_flow";
    let c = shop_database(db);
    let project = django_project(db, c.port);
    let check = manage_watched(v, project.path(), &["check", "--database", "default"], true);
    check.assert_no_password("check");
    assert!(
        !check.stderr.contains("reads are routed"),
        "--database given: {}",
        check.stderr
    );
    assert!(
        check.stdout.contains(db) || check.stderr.contains(db),
        "check did not report on {db}:\n{}\n{}",
        check.stdout,
        check.stderr
    );
    let analyze = manage_watched(
        v,
        project.path(),
        &[
            "analyze",
            "--primary",
            "default",
            "--out",
            "advice",
            "--format",
            "json",
        ],
        true,
    );
    analyze.assert_no_password("analyze");
    assert_eq!(
        analyze.code,
        idxadvise::error::EXIT_RECOMMENDATIONS,
        "{}",
        analyze.stderr
    );
    serde_json::from_str::<serde_json::Value>(&analyze.stdout)
        .expect("--format json passed through");
    assert!(project.path().join("advice/baseline.json").is_file());
    // verify finds no idxadvise-out folder: it says what to do instead of guessing.
    let verify = manage_watched_no_binary(v, project.path(), &["verify"]);
    assert_ne!(verify.0, 0);
    assert!(verify.2.contains("--baseline"), "{}", verify.2);
    let verify = manage_watched(
        v,
        project.path(),
        &["verify", "--baseline", "advice", "--out", "verified"],
        true,
    );
    verify.assert_no_password("verify");
    assert!(
        project.path().join("verified/verify.md").is_file(),
        "verify wrote nothing:\n{}\n{}",
        verify.stdout,
        verify.stderr
    );
    // The connection comes from settings.DATABASES only.
    let direct = manage_watched_no_binary(
        v,
        project.path(),
        &["check", "--database-url", "postgres://x@y/z"],
    );
    assert_ne!(direct.0, 0);
    assert!(direct.2.contains("settings.DATABASES"), "{}", direct.2);
    let unknown = manage_watched_no_binary(v, project.path(), &["check", "--database", "nope"]);
    assert_ne!(unknown.0, 0);
    assert!(
        unknown.2.contains("unknown database alias 'nope'"),
        "{}",
        unknown.2
    );
}

/// `manage.py idxadvise …` runs that fail before the binary starts: (code, stdout, stderr).
fn manage_watched_no_binary(v: &Venv, project: &Path, args: &[&str]) -> (i32, String, String) {
    let r = run(Command::new(&v.python)
        .arg("manage.py")
        .arg("idxadvise")
        .args(args)
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert!(
        !r.1.contains(PASSWORD) && !r.2.contains(PASSWORD),
        "{}",
        r.2
    );
    r
}
