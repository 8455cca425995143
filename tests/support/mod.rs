//! Test harness: one throwaway PostgreSQL cluster per test binary, one database per test.
//!
//! Which PostgreSQL: `IDXADVISE_TEST_PG` names a major version of the test matrix (15, 17 or
//! 18). 15 is Debian 12's server (`/usr/lib/postgresql/15/bin`, HypoPG 1.3.1); 17 and 18 are
//! the servers `.ci/install-pg` puts under `target/pg/<major>` (HypoPG 1.4). Unset, the local
//! server binaries are used as before (`IDXADVISE_PG_BINDIR`, `pg_config --bindir`, then
//! Debian's 15). The cluster is started in a temp dir on a free port, with pg_stat_statements
//! preloaded and HypoPG created. As root it runs as `postgres` (runuser). A watchdog process
//! stops it when the test binary exits, also when a test fails or panics: no orphan postmaster.
//! Missing binaries, a server of another major version, or a missing HypoPG fail the test with
//! the command that installs them; never a silent skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "install the server with: sudo apt-get install -y postgresql-15 postgresql-contrib postgresql-15-hypopg (or run: bash .ci/install)";

/// A running cluster.
pub struct Cluster {
    /// Data directory.
    pub data: PathBuf,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Socket directory.
    pub socket_dir: PathBuf,
    /// Server binaries.
    pub bindir: PathBuf,
    /// Root temp dir (kept alive for the process).
    pub root: PathBuf,
    /// Whether the server runs as `postgres` through runuser.
    pub as_postgres: bool,
}

fn is_root() -> bool {
    idxadvise::sandbox::is_root()
}

/// The major version `IDXADVISE_TEST_PG` asks for, if set.
pub fn requested_major() -> Option<u32> {
    let v = std::env::var("IDXADVISE_TEST_PG").ok()?;
    match v.trim().parse::<u32>() {
        Ok(m) if [15, 17, 18].contains(&m) => Some(m),
        _ => panic!("IDXADVISE_TEST_PG={v}: the test matrix has PostgreSQL 15, 17 and 18"),
    }
}

/// Where the server binaries are: those of the major version `IDXADVISE_TEST_PG` names, else
/// the library's own lookup (which the demo uses). Checked: a server of another version fails.
pub fn bindir() -> PathBuf {
    static BINDIR: OnceLock<PathBuf> = OnceLock::new();
    BINDIR
        .get_or_init(|| {
            let Some(major) = requested_major() else {
                return idxadvise::sandbox::find_bindir()
                    .unwrap_or_else(|e| panic!("{}\n{INSTALL_HINT}", e.message()));
            };
            let (dir, hint) = if major == 15 {
                (
                    PathBuf::from("/usr/lib/postgresql/15/bin"),
                    INSTALL_HINT.to_string(),
                )
            } else {
                let root = std::env::var("IDXADVISE_PG_ROOT")
                    .map(PathBuf::from)
                    .unwrap_or_else(|_| repo_root().join("target/pg"));
                (
                    root.join(major.to_string()).join("bin"),
                    format!("install it with: sudo bash .ci/install-pg {major}"),
                )
            };
            if !dir.join("postgres").exists() || !dir.join("initdb").exists() {
                panic!(
                    "IDXADVISE_TEST_PG={major}: no PostgreSQL {major} server in {}\n({hint})",
                    dir.display()
                );
            }
            let out = Command::new(dir.join("postgres"))
                .arg("--version")
                .output()
                .unwrap_or_else(|e| panic!("{}/postgres --version: {e}\n({hint})", dir.display()));
            let text = String::from_utf8_lossy(&out.stdout);
            if !text.contains(&format!(") {major}.")) {
                panic!(
                    "IDXADVISE_TEST_PG={major}: {} is not PostgreSQL {major}: {}",
                    dir.display(),
                    text.trim()
                );
            }
            dir
        })
        .clone()
}

/// The major version of the test cluster's server (15, 17, 18), read from its `pg_config`.
pub fn pg_major() -> u32 {
    static MAJOR: OnceLock<u32> = OnceLock::new();
    *MAJOR.get_or_init(|| {
        let v = run(
            Command::new(bindir().join("pg_config")).arg("--version"),
            "pg_config --version",
        );
        // "PostgreSQL 17.10"
        v.split_whitespace()
            .nth(1)
            .and_then(|x| x.split('.').next())
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("cannot read the major version from {v:?}"))
    })
}

/// A free TCP port on 127.0.0.1 (the library's, which the demo uses).
pub fn free_port() -> u16 {
    idxadvise::sandbox::free_port().unwrap_or_else(|e| panic!("{}", e.message()))
}

fn run(cmd: &mut Command, what: &str) -> String {
    try_run(cmd, what).unwrap_or_else(|e| panic!("{e}"))
}

fn try_run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A new, empty directory under `parent`, never one another cluster of this run already uses
/// (a name built from the process id and a free port is not unique: `free_port` can give the
/// same port twice, and a static cluster keeps its directory for the whole run).
fn unique_dir(parent: &Path, prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .unwrap_or_else(|e| panic!("create a temp dir under {}: {e}", parent.display()))
        .keep()
}

impl Cluster {
    fn cmd(&self, bin: &str) -> Command {
        let path = self.bindir.join(bin);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Start a new primary cluster with pg_stat_statements and HypoPG.
    pub fn start_primary(extra_conf: &str) -> Cluster {
        Cluster::start_with(&ClusterOptions {
            extra_conf: extra_conf.to_string(),
            ..ClusterOptions::default()
        })
    }

    /// Start a new primary cluster as `opts` says (see [`ClusterOptions`]).
    pub fn start_with(opts: &ClusterOptions) -> Cluster {
        let extra_conf = opts.extra_conf.as_str();
        let bindir = bindir();
        let sharedir = Command::new(bindir.join("pg_config"))
            .arg("--sharedir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string()))
            .unwrap_or_else(|| PathBuf::from("/usr/share/postgresql/15"));
        if !sharedir.join("extension/hypopg.control").exists() {
            panic!(
                "HypoPG is not installed ({} missing).\n{INSTALL_HINT}",
                sharedir.join("extension/hypopg.control").display()
            );
        }
        let as_postgres = is_root();
        let root = unique_dir(&std::env::temp_dir(), "idxadvise-test-");
        let data = root.join("data");
        let socket_dir = root.join("sock");
        std::fs::create_dir_all(&socket_dir).expect("create socket dir");
        if as_postgres {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&root),
                "chown temp dir",
            );
        }
        let port = free_port();
        let mut cluster = Cluster {
            data: data.clone(),
            port,
            socket_dir: socket_dir.clone(),
            bindir,
            root,
            as_postgres,
        };
        run(
            cluster
                .cmd("initdb")
                .args(idxadvise::sandbox::INITDB_ARGS)
                .arg(&data),
            "initdb",
        );
        let pgss_conf = if opts.preload_pg_stat_statements {
            "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n\
             pg_stat_statements.max = 10000\n"
        } else {
            ""
        };
        // Synchronous commits (cheap with fsync off): a VACUUM right after an asynchronous
        // commit marks no page all-visible (docs/postgres-facts.md, "Asynchronous commit and the
        // visibility map"), and a test's index-only scan became a sequential scan at random.
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             {pgss_conf}fsync = off\nfull_page_writes = off\n\
             wal_level = replica\nmax_wal_senders = 30\nhot_standby = on\nwal_keep_size = '1GB'\nmax_connections = 100\n\
             shared_buffers = 128MB\nlog_min_messages = warning\n{extra_conf}\n",
            socket_dir.display()
        );
        append(&data.join("postgresql.conf"), &conf, as_postgres);
        append(
            &data.join("pg_hba.conf"),
            "\nhost replication all 127.0.0.1/32 trust\n",
            as_postgres,
        );
        if !opts.hba_first.is_empty() {
            let hba = data.join("pg_hba.conf");
            let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
            std::fs::write(&hba, format!("{}\n{old}", opts.hba_first)).expect("write pg_hba.conf");
        }
        for (name, content) in &opts.files {
            let path = data.join(name);
            std::fs::write(&path, content).expect("write data-dir file");
            run(
                Command::new("chmod").arg("600").arg(&path),
                "chmod data-dir file",
            );
            if as_postgres {
                run(
                    Command::new("chown").arg("postgres:postgres").arg(&path),
                    "chown data-dir file",
                );
            }
        }
        cluster.start_server();
        cluster.watchdog();
        for db in ["template1", "postgres"] {
            cluster.psql(db, &opts.extensions_sql);
        }
        cluster
    }

    /// Start the server; if another cluster took its port between `free_port` and now (tests
    /// start clusters in parallel), move to a new free port and start again.
    fn start_server(&mut self) {
        for _ in 0..5 {
            let started = try_run(
                self.cmd("pg_ctl")
                    .args(["-w", "-t", "60", "-D"])
                    .arg(&self.data)
                    .arg("-l")
                    .arg(self.data.join("server.log"))
                    .arg("start"),
                "pg_ctl start",
            );
            let Err(e) = started else { return };
            let log = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
            if !log.contains("could not bind") {
                panic!("{e}\nserver.log:\n{log}");
            }
            self.port = free_port();
            append(
                &self.data.join("postgresql.conf"),
                &format!("\nport = {}\n", self.port),
                self.as_postgres,
            );
        }
        panic!("pg_ctl start: no free port after 5 tries");
    }

    /// Stop the server now (fast shutdown).
    pub fn stop(&self) {
        let _ = self
            .cmd("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(&self.data)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Restart the server (for fault tests).
    pub fn restart(&self) {
        run(
            self.cmd("pg_ctl")
                .args(["-w", "-m", "fast", "-D"])
                .arg(&self.data)
                // With a log file, so the new postmaster does not hold our stdout pipe open.
                .arg("-l")
                .arg(self.data.join("server.log"))
                .arg("restart"),
            "pg_ctl restart",
        );
    }

    /// A process that stops this server when the test binary exits, however it exits.
    // The watchdog must outlive the test binary, so it is deliberately never waited on.
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let me = std::process::id();
        let stop = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; {} {} -w -m immediate -D '{}' stop >/dev/null 2>&1; rm -rf '{}'",
            if self.as_postgres { "runuser -u postgres --" } else { "" },
            self.bindir.join("pg_ctl").display(),
            self.data.display(),
            self.root.display()
        );
        // In its own session (setsid), so killing the test's process group (a CI timeout, a
        // killed job) does not kill the watchdog with it and orphan the server.
        let mut cmd = if Path::new("/usr/bin/setsid").exists() {
            let mut c = Command::new("/usr/bin/setsid");
            c.arg("sh");
            c
        } else {
            Command::new("sh")
        };
        cmd.arg("-c")
            .arg(stop)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn watchdog");
    }

    /// Run SQL with psql as the superuser, returning stdout (tuples only, unaligned).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        run(
            idxadvise::sandbox::psql_command(&self.bindir, self.port, db)
                .arg("-c")
                .arg(sql),
            &format!("psql {db}"),
        )
    }

    /// Run a SQL file with psql.
    pub fn psql_file(&self, db: &str, file: &Path) {
        run(
            idxadvise::sandbox::psql_command(&self.bindir, self.port, db)
                .arg("-f")
                .arg(file),
            &format!("psql {db} -f {}", file.display()),
        );
    }

    /// A postgres:// URL for a database as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// An older transaction held open in `db`: a repeatable-read snapshot with a transaction
    /// id, in a session whose query names `tag`. Returns once the session sleeps in it; ended
    /// when the [`Held`] is dropped, also when the test fails (at most 120 s in any case).
    pub fn hold_transaction(&self, db: &str, tag: &str) -> Held<'_> {
        let child = idxadvise::sandbox::psql_command(&self.bindir, self.port, db)
            .arg("-c")
            .arg(format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT txid_current() /* {tag} */; SELECT pg_sleep(120); COMMIT"
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn psql");
        let held = Held {
            cluster: self,
            db: db.to_string(),
            tag: tag.to_string(),
            child,
        };
        let started = Instant::now();
        while self
            .psql(
                db,
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{tag}%' AND backend_xid IS NOT NULL \
                     AND state = 'active' AND pid <> pg_backend_pid()"
                ),
            )
            .trim()
            == "0"
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the transaction {tag} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        held
    }

    /// A fresh database (with pg_stat_statements and hypopg, from template1) named after the
    /// test; its pg_stat_statements entries are reset.
    pub fn create_database(&self, name: &str) -> String {
        let db: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
        self.psql("postgres", &format!("CREATE DATABASE {db}"));
        db
    }

    /// Start a streaming hot standby of this cluster (`pg_basebackup -R`) and wait until it
    /// accepts connections in recovery.
    pub fn start_standby(&self) -> Cluster {
        let port = free_port();
        let root = unique_dir(&self.root, "standby-");
        let data = root.join("data");
        let socket_dir = root.join("sock");
        std::fs::create_dir_all(&socket_dir).expect("standby dirs");
        if self.as_postgres {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&root),
                "chown standby dir",
            );
        }
        let mut standby = Cluster {
            data: data.clone(),
            port,
            socket_dir: socket_dir.clone(),
            bindir: self.bindir.clone(),
            root: root.clone(),
            as_postgres: self.as_postgres,
        };
        run(
            standby
                .cmd("pg_basebackup")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "-D",
                ])
                .arg(&data)
                .arg("-p")
                .arg(self.port.to_string()),
            "pg_basebackup",
        );
        append(
            &data.join("postgresql.conf"),
            &format!(
                "\nport = {port}\nunix_socket_directories = '{}'\n",
                socket_dir.display()
            ),
            self.as_postgres,
        );
        standby.start_server();
        standby.watchdog();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(self.bindir.join("psql"))
                .args([
                    "-X",
                    "-At",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    "select pg_is_in_recovery()",
                ])
                .arg("-p")
                .arg(standby.port.to_string())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "t")
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "standby did not start within 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        standby
    }

    /// Wait until the standby has replayed everything the primary has written so far.
    pub fn wait_replayed(&self, standby: &Cluster) {
        let lsn = self
            .psql("postgres", "select pg_current_wal_lsn()")
            .trim()
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let done = standby.psql(
                "postgres",
                &format!("select pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"),
            );
            if done.trim() == "t" {
                return;
            }
            if Instant::now() >= deadline {
                let log =
                    std::fs::read_to_string(standby.data.join("server.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "standby did not catch up within 300 s (primary at {lsn}; standby replayed {}, received {})\nstandby log, last lines first:\n{}",
                    standby.psql("postgres", "select pg_last_wal_replay_lsn()").trim(),
                    standby.psql("postgres", "select pg_last_wal_receive_lsn()").trim(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn append(path: &Path, text: &str, _as_postgres: bool) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("append config");
}

/// How to start a cluster with [`Cluster::start_with`]. The default is what
/// [`Cluster::start_primary`] starts.
pub struct ClusterOptions {
    /// Lines appended to postgresql.conf.
    pub extra_conf: String,
    /// Preload pg_stat_statements (and set its track/max).
    pub preload_pg_stat_statements: bool,
    /// SQL run in template1 and postgres after the start (default: create pg_stat_statements
    /// and hypopg).
    pub extensions_sql: String,
    /// pg_hba.conf lines placed before the default (trust) rules.
    pub hba_first: String,
    /// Files written into the data directory before the start (mode 600, owned by the server),
    /// e.g. TLS keys and certificates.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            extra_conf: String::new(),
            preload_pg_stat_statements: true,
            extensions_sql: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg;".into(),
            hba_first: String::new(),
            files: vec![],
        }
    }
}

/// Real traffic in the background: each thread replays its SQL file in a loop until
/// [`Traffic::stop`], or until dropped.
pub struct Traffic {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<usize>>,
}

impl Traffic {
    /// One thread per file, each replaying it on `db` with psql.
    pub fn start(c: &'static Cluster, db: &str, files: Vec<PathBuf>) -> Traffic {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = files
            .into_iter()
            .map(|f| {
                let (stop, db) = (stop.clone(), db.to_string());
                std::thread::spawn(move || {
                    let mut rounds = 0;
                    while !stop.load(Ordering::Relaxed) {
                        c.psql_file(&db, &f);
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        Traffic { stop, threads }
    }

    /// Stop and return how many rounds each thread ran.
    pub fn stop(mut self) -> Vec<usize> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        std::mem::take(&mut self.threads)
            .into_iter()
            .map(|t| t.join().expect("traffic thread"))
            .collect()
    }
}

/// Dropped without [`Traffic::stop`] (a failed assertion while it runs): the threads stop too.
impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A transaction held open by [`Cluster::hold_transaction`]; dropping it ends the session.
pub struct Held<'c> {
    cluster: &'c Cluster,
    db: String,
    tag: String,
    child: std::process::Child,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Never a panic here: it may run while a failed test unwinds.
        let _ = idxadvise::sandbox::psql_command(&self.cluster.bindir, self.cluster.port, &self.db)
            .arg("-c")
            .arg(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%{}%' AND pid <> pg_backend_pid()",
                self.tag
            ))
            .output();
        if self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(200));
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// The cluster of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start_primary(""))
}

/// Serialises tests that need the whole cluster to themselves (restarts, settings).
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Replays take it shared: the mean times pg_stat_statements records then decide the
/// recommendation, so a test that runs heavy background traffic (tests/it/observe.rs) takes it
/// exclusively and no replay is timed under that load.
pub fn replays() -> &'static std::sync::RwLock<()> {
    static LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());
    &LOCK
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A database loaded with the example shop (schema, data, VACUUM ANALYZE), named after the
/// test. The data is loaded once per test binary into a template, then copied.
pub fn example_database(name: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    let c = cluster();
    let template = TEMPLATE.get_or_init(|| {
        let t = c.create_database("shop_template");
        c.psql_file(&t, &repo_root().join("examples/shop/schema.sql"));
        c.psql_file(&t, &repo_root().join("examples/shop/data.sql"));
        t
    });
    let db: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() {
                ch.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    c.psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    c.psql(
        "postgres",
        // FILE_COPY: the copy is one WAL record, not the whole template, so a standby of this
        // cluster keeps up while other tests copy the example.
        &format!("CREATE DATABASE {db} TEMPLATE {template} STRATEGY FILE_COPY"),
    );
    // Planner statistics are not copied with the template.
    c.psql(&db, "ANALYZE");
    db
}

/// Replay the example workload (examples/shop/workload.sql, as Django sent it) into `db`, after
/// resetting pg_stat_statements, so the database's pg_stat_statements holds the example workload.
/// Only `db`'s entries are reset, so tests in other databases are not disturbed.
pub fn replay_workload(db: &str) {
    let _quiet = replays().read().unwrap_or_else(|p| p.into_inner());
    let c = cluster();
    reset_statements(c, db);
    c.psql_file(db, &repo_root().join("examples/shop/workload.sql"));
}

/// [`replay_workload`] for a test that loads the server on purpose while it replays (and so
/// holds [`replays`] exclusively: `_held`): the lock is not taken again.
pub fn replay_workload_under_load(db: &str, _held: &std::sync::RwLockWriteGuard<'_, ()>) {
    let c = cluster();
    reset_statements(c, db);
    c.psql_file(db, &repo_root().join("examples/shop/workload.sql"));
}

/// Reset the pg_stat_statements entries of one database only (other tests' are kept).
pub fn reset_statements(c: &Cluster, db: &str) {
    // Run from another database, so the reset call itself is not an entry of `db`.
    c.psql(
        "postgres",
        &format!(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = '{}'), 0)",
            db.replace('\'', "''")
        ),
    );
}

/// Replay the example workload into `db` again WITHOUT resetting pg_stat_statements (the
/// "after" traffic of `verify`): the counters keep growing from where they were. The workload
/// writes rows (orders, status updates, soft deletes); a second replay just adds more.
pub fn replay_workload_again(db: &str) {
    let _quiet = replays().read().unwrap_or_else(|p| p.into_inner());
    cluster().psql_file(db, &repo_root().join("examples/shop/workload.sql"));
}

/// Run `sql` `times` times in `db` (one psql session), so pg_stat_statements has an entry with
/// that many calls.
pub fn run_times(db: &str, sql: &str, times: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("traffic.sql");
    std::fs::write(&file, format!("{sql};\n").repeat(times)).expect("write");
    cluster().psql_file(db, &file);
}
