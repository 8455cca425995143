//! A throwaway PostgreSQL cluster from the local server binaries, for `idxadvise demo`.
//!
//! I/O. Must not touch any existing cluster: it uses its own temp dir and a free port on
//! 127.0.0.1, and is stopped (and its files removed) when the value is dropped.
//! As root, the server runs as the `postgres` user through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Kind};

/// What to install, per system: the server (with pg_stat_statements) and HypoPG for the same
/// major version. Package names: Debian's own for Debian 12, the PostgreSQL project's (PGDG)
/// repositories elsewhere (PGDG RPMs name extensions `<name>_<major>`); Homebrew has no HypoPG
/// formula, so there it is built with the server's pg_config.
pub const INSTALL_HINT: &str = "install PostgreSQL with HypoPG (pg_stat_statements comes with the server):
  Debian 12:             sudo apt-get install postgresql-15 postgresql-contrib postgresql-15-hypopg
  Ubuntu, other Debian:  add the PGDG apt repository (https://wiki.postgresql.org/wiki/Apt), then
                         sudo apt-get install postgresql-17 postgresql-17-hypopg
  Fedora, RHEL, Rocky:   add the PGDG repository (https://www.postgresql.org/download/linux/redhat/), then
                         sudo dnf install postgresql17-server postgresql17-contrib hypopg_17
                         and export IDXADVISE_PG_BINDIR=/usr/pgsql-17/bin
  macOS (Homebrew):      brew install postgresql@17, then HypoPG from source (https://github.com/HypoPG/hypopg):
                         make install PG_CONFIG=$(brew --prefix postgresql@17)/bin/pg_config
  elsewhere:             point IDXADVISE_PG_BINDIR at the folder with initdb, pg_ctl and pg_config";

/// A running throwaway cluster.
pub struct Sandbox {
    root: tempfile::TempDir,
    data: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

/// Where the PostgreSQL server binaries are: `$IDXADVISE_PG_BINDIR`, `pg_config --bindir`,
/// then `/usr/lib/postgresql/15/bin`.
pub fn find_bindir() -> Result<PathBuf, Error> {
    let mut tried = vec![];
    if let Ok(d) = std::env::var("IDXADVISE_PG_BINDIR") {
        tried.push(PathBuf::from(d));
    }
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output() {
        tried.push(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    }
    tried.push(PathBuf::from("/usr/lib/postgresql/15/bin"));
    tried
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .ok_or_else(|| {
            Error::Prerequisite(format!(
                "PostgreSQL server binaries (initdb, pg_ctl) not found\n({INSTALL_HINT})"
            ))
        })
}

/// Whether this process runs as root (then servers run as `postgres` through `runuser`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// initdb's arguments before the data directory: superuser `postgres`, trust, UTF-8, C.UTF-8
/// (the test harness uses them too).
pub const INITDB_ARGS: &[&str] = &[
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "-D",
];

/// A free TCP port on 127.0.0.1 (the test harness uses it too).
pub fn free_port() -> Result<u16, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::caused(Kind::Internal, format!("cannot find a free port: {e}"), e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::caused(Kind::Internal, format!("cannot find a free port: {e}"), e))
}

impl Sandbox {
    fn cmd(&self, bin: &str) -> Command {
        command(&self.bindir, bin, self.as_postgres)
    }

    /// Start a cluster with pg_stat_statements preloaded (track = all) and HypoPG available.
    pub fn start() -> Result<Sandbox, Error> {
        let bindir = find_bindir()?;
        let share = Command::new(bindir.join("pg_config"))
            .arg("--sharedir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .unwrap_or_else(|| PathBuf::from("/usr/share/postgresql/15"));
        if !share.join("extension/hypopg.control").exists() {
            return Err(Error::Prerequisite(format!(
                "HypoPG is not installed for the PostgreSQL server in {}\n({INSTALL_HINT})",
                bindir.display()
            )));
        }
        let as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("idxadvise-demo-")
            .tempdir()
            .map_err(|e| {
                Error::caused(Kind::Internal, format!("cannot create a temp dir: {e}"), e)
            })?;
        if as_postgres {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(root.path()),
                "chown",
            )?;
        }
        let data = root.path().join("data");
        let port = free_port()?;
        let mut sb = Sandbox {
            data: data.clone(),
            root,
            bindir,
            port,
            as_postgres,
            running: false,
        };
        run(sb.cmd("initdb").args(INITDB_ARGS).arg(&data), "initdb")?;
        // Commits stay synchronous (cheap with fsync off): after an asynchronous commit, a
        // VACUUM run before the WAL writer flushes it cannot set hint bits, so it marks no page
        // all-visible and the planner prices index-only scans as heap reads
        // (docs/postgres-facts.md, "Asynchronous commit and the visibility map").
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n\
             fsync = off\nfull_page_writes = off\nshared_buffers = 128MB\n",
            sb.root.path().display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, conf.as_bytes()))
            .map_err(|e| {
                Error::caused(
                    Kind::Internal,
                    format!("cannot configure the demo cluster: {e}"),
                    e,
                )
            })?;
        run(
            sb.cmd("pg_ctl")
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(sb.root.path().join("server.log"))
                .arg("start"),
            "pg_ctl start",
        )?;
        sb.running = true;
        Ok(sb)
    }

    /// Port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for a database, as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Run SQL through psql.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, Error> {
        run(
            self.psql_cmd(db).arg("-c").arg(sql),
            &format!("psql on {db}"),
        )
    }

    /// Run a SQL file through psql.
    pub fn psql_file(&self, db: &str, file: &Path) -> Result<(), Error> {
        run(
            self.psql_cmd(db).arg("-f").arg(file),
            &format!("psql -f {}", file.display()),
        )
        .map(|_| ())
    }

    fn psql_cmd(&self, db: &str) -> Command {
        psql_command(&self.bindir, self.port, db)
    }

    /// A handle that runs psql files against this cluster from another thread (the demo's
    /// replay during the observation window).
    pub fn replayer(&self) -> Replayer {
        Replayer {
            bindir: self.bindir.clone(),
            port: self.port,
        }
    }

    /// Stop the server now.
    pub fn stop(&mut self) {
        if self.running {
            let _ = self
                .cmd("pg_ctl")
                .args(["-w", "-m", "fast", "-D"])
                .arg(&self.data)
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.running = false;
        }
    }
}

/// Runs psql files against a sandbox cluster; holds no reference to the sandbox itself.
#[derive(Debug, Clone)]
pub struct Replayer {
    bindir: PathBuf,
    port: u16,
}

impl Replayer {
    /// Run a SQL file through psql.
    pub fn psql_file(&self, db: &str, file: &Path) -> Result<(), Error> {
        run(
            psql_command(&self.bindir, self.port, db)
                .arg("-f")
                .arg(file),
            &format!("psql -f {}", file.display()),
        )
        .map(|_| ())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

/// psql as the superuser over TCP on 127.0.0.1:`port`, quiet, tuples only, unaligned, stopping
/// at the first error (the test harness uses it too).
pub fn psql_command(bindir: &Path, port: u16, db: &str) -> Command {
    let mut c = Command::new(bindir.join("psql"));
    c.args([
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
    ])
    .arg("-p")
    .arg(port.to_string())
    .arg("-d")
    .arg(db);
    c
}

fn command(bindir: &Path, bin: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bindir.join(bin));
        c
    } else {
        Command::new(bindir.join(bin))
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<String, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::caused(Kind::Internal, format!("{what}: cannot run: {e}"), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("error"))
            .or_else(|| err.lines().next())
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(Error::Internal(format!("{what} failed: {first}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
