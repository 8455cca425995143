//! Connecting the way libpq does: URL or key=value conninfo, the `PG*` environment, `~/.pgpass`,
//! Unix sockets, every `sslmode`, and the session settings every idxadvise session needs.
//!
//! Stage: edge (I/O). Must not run anything but session setup. Invariant: every session is
//! read-only, named `idxadvise`, bounded by `statement_timeout`/`lock_timeout`, and untracked by
//! pg_stat_statements when the role may say so (docs/postgres-facts.md §2).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::{Client, Config, NoTls};

pub use super::error::{db_message, PgError};
pub(crate) use super::sslmode::home;
pub use super::sslmode::SslMode;

/// How to reach the server and how to set up the session.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// A `postgres://` URL or a libpq key=value string; `None` uses the `PG*` environment alone.
    pub url: Option<String>,
    /// `statement_timeout` for every statement of the session.
    pub statement_timeout: Duration,
    /// `lock_timeout` for the session.
    pub lock_timeout: Duration,
    /// Ask pg_stat_statements not to track this session (falls back with a warning).
    pub untracked: bool,
    /// Make every transaction read-only.
    pub read_only: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            url: None,
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(1),
            untracked: true,
            read_only: true,
        }
    }
}

/// A live session.
pub struct Connection {
    /// The client; the connection task runs on the tokio runtime.
    pub client: Client,
    /// Warnings gathered while connecting (e.g. tracking could not be turned off).
    pub warnings: Vec<String>,
    /// Where we connected, with the password removed.
    pub target: String,
    /// Whether `pg_stat_statements.track=none` is in force for this session.
    pub untracked: bool,
    /// Whether the session is encrypted.
    pub tls: bool,
    /// The task driving the connection; it ends after the client is dropped and the session's
    /// Terminate message is sent.
    task: JoinHandle<()>,
}

/// How long [`Connection::close`] waits for the session to end.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl Connection {
    /// End the session the way a client should: drop the client, so the connection task sends
    /// PostgreSQL's Terminate message, and wait (at most [`CLOSE_WAIT`]) until it has. A
    /// process that exits with its connection task still pending leaves "could not send data
    /// to client" / "connection to client lost" in the server's log instead.
    pub async fn close(self) {
        let Connection { client, task, .. } = self;
        drop(client);
        let _ = tokio::time::timeout(CLOSE_WAIT, task).await;
    }
}

/// The resolved parameters: a tokio-postgres config plus what it cannot express.
struct Resolved {
    config: Config,
    ssl_mode: SslMode,
    root_cert: Option<String>,
    target: String,
}

/// Split off the parameters tokio-postgres does not understand (`sslmode` beyond its three,
/// `sslrootcert`, …) and keep the rest for it.
fn split_params(url: &str) -> (String, Vec<(String, String)>) {
    const OURS: [&str; 5] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "passfile"];
    let mut ours = vec![];
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b.to_string(), q.to_string()),
            None => (url.to_string(), String::new()),
        };
        let mut kept = vec![];
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if OURS.contains(&k) {
                ours.push((k.to_string(), percent_decode(v)));
            } else {
                kept.push(kv.to_string());
            }
        }
        let rebuilt = if kept.is_empty() {
            base
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rebuilt, ours)
    } else {
        let mut kept = vec![];
        for tok in url.split_whitespace() {
            match tok.split_once('=') {
                Some((k, v)) if OURS.contains(&k.trim()) => {
                    ours.push((k.trim().to_string(), v.trim_matches('\'').to_string()))
                }
                _ => kept.push(tok),
            }
        }
        (kept.join(" "), ours)
    }
}

/// A URL query value, `%XX` decoded; an invalid escape is kept as written, invalid UTF-8
/// replaced.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Remove the password from a URL or conninfo for messages and files.
pub fn redact(url: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .map(|r| ("postgres://", r))
        .or_else(|| {
            url.strip_prefix("postgresql://")
                .map(|r| ("postgresql://", r))
        })
    {
        let (scheme, rest) = rest;
        let (auth_host, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let auth_host = match auth_host.rsplit_once('@') {
            Some((auth, host)) => match auth.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{auth}@{host}"),
            },
            None => auth_host.to_string(),
        };
        let tail = tail
            .split('&')
            .map(|kv| {
                if kv.starts_with("password=") || kv.contains("?password=") {
                    let (k, _) = kv.split_once('=').unwrap_or((kv, ""));
                    format!("{k}=***")
                } else {
                    kv.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        format!("{scheme}{auth_host}{tail}")
    } else {
        conninfo_tokens(url)
            .into_iter()
            .map(|t| {
                let key = t.split('=').next().unwrap_or("").trim();
                if key == "password" {
                    "password=***".to_string()
                } else {
                    t
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Split a key=value conninfo into `key=value` tokens, keeping single-quoted values (which may
/// hold blanks and `\'`) whole, and allowing blanks around `=`.
fn conninfo_tokens(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                // `key = value`: keep joining around the equals sign.
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if cur.ends_with('=') || chars.peek() == Some(&'=') {
                    continue;
                }
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Look up a password in a pgpass file (`host:port:database:user:password`, `*` wildcards,
/// `\:` and `\\` escapes), as libpq does. Files readable by group or others are ignored.
pub fn pgpass_lookup(path: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).ok()?;
        if meta.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    let port_s = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let m = |pat: &str, v: &str| pat == "*" || pat == v;
        let host_ok = m(&fields[0], host) || (fields[0] == "localhost" && host.starts_with('/'));
        if host_ok && m(&fields[1], &port_s) && m(&fields[2], db) && m(&fields[3], user) {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("non-empty").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("non-empty").push(c),
        }
    }
    fields
}

fn resolve(opts: &ConnectOptions) -> Result<Resolved, PgError> {
    let raw = opts
        .url
        .clone()
        .or_else(|| env("DATABASE_URL"))
        .unwrap_or_default();
    let (rest, ours) = split_params(&raw);
    // A URL of another scheme (http://, mysql://) is not a connection string at all.
    if let Some((scheme, _)) = raw.trim_start().split_once("://") {
        let is_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if is_scheme && !matches!(scheme, "postgres" | "postgresql") {
            return Err(PgError::Config(format!(
                "the database URL must start with postgres:// or postgresql://, not {scheme}://"
            )));
        }
    }
    let mut config: Config = if rest.trim().is_empty() {
        Config::new()
    } else {
        rest.parse().map_err(|e: tokio_postgres::Error| {
            let msg = db_message(&e);
            let msg = msg
                .strip_prefix("invalid connection string: ")
                .unwrap_or(&msg);
            PgError::Config(format!("{msg} ({})", redact(&raw)))
        })?
    };
    let get = |k: &str| {
        ours.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let ssl_mode = match get("sslmode").or_else(|| env("PGSSLMODE")) {
        Some(m) => SslMode::parse(&m)?,
        None => SslMode::Prefer,
    };
    let root_cert = get("sslrootcert").or_else(|| env("PGSSLROOTCERT"));

    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(h) => {
                for h in h.split(',') {
                    if h.starts_with('/') {
                        config.host_path(h);
                    } else {
                        config.host(h);
                    }
                }
            }
            None => {
                if Path::new("/var/run/postgresql").is_dir() {
                    config.host_path("/var/run/postgresql");
                } else {
                    config.host("localhost");
                }
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = env("PGPORT") {
            let port = p
                .parse::<u16>()
                .map_err(|_| PgError::Config(format!("PGPORT {p:?} is not a port number")))?;
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".to_string());
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            config.dbname(&db);
        }
    }
    let user = config.get_user().unwrap_or("postgres").to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host_str = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    if config.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD") {
            config.password(pw);
        } else {
            let file = get("passfile")
                .map(PathBuf::from)
                .or_else(|| env("PGPASSFILE").map(PathBuf::from))
                .or_else(|| home().map(|h| h.join(".pgpass")));
            if let Some(f) = file {
                if let Some(pw) = pgpass_lookup(&f, &host_str, port, &db, &user) {
                    config.password(pw);
                }
            }
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let target = format!("{user}@{host_str}:{port}/{db}");
    Ok(Resolved {
        config,
        ssl_mode,
        root_cert,
        target,
    })
}

fn classify(target: &str, e: tokio_postgres::Error, tls_asked: bool) -> PgError {
    let msg = db_message(&e);
    let code = e.as_db_error().map(|d| d.code().code().to_string());
    let lower = msg.to_lowercase();
    let hint = match code.as_deref() {
        Some("28P01") | Some("28000") if lower.contains("password") => {
            "check the password in the URL, PGPASSWORD or ~/.pgpass".to_string()
        }
        Some("28000") => "check pg_hba.conf on the server and the user name".to_string(),
        Some("3D000") => "check the database name at the end of the URL".to_string(),
        Some("57P03") => "the server is starting up or shutting down; try again".to_string(),
        Some("53300") => "the server has no free connection slots".to_string(),
        _ if lower.contains("refused") => {
            "is the server running and listening on that host and port?".to_string()
        }
        _ if lower.contains("timed out") || lower.contains("timeout") => {
            "the host did not answer; check the host name, port and firewall".to_string()
        }
        _ if lower.contains("tls") || lower.contains("ssl") || lower.contains("certificate") => {
            if tls_asked {
                "the server does not offer TLS or its certificate was not accepted; check sslmode and sslrootcert".to_string()
            } else {
                "check the server's TLS settings".to_string()
            }
        }
        _ if lower.contains("lookup")
            || lower.contains("resolve")
            || lower.contains("name or service") =>
        {
            "the host name could not be resolved".to_string()
        }
        _ => "check the connection URL (postgres://user@host:port/dbname)".to_string(),
    };
    PgError::Connect {
        target: target.to_string(),
        reason: msg,
        hint,
        source: Some(e),
    }
}

async fn connect_once(
    resolved: &Resolved,
    options_line: &str,
    mode: SslMode,
) -> Result<(Client, bool, JoinHandle<()>), PgError> {
    let mut config = resolved.config.clone();
    config.application_name("idxadvise");
    if !options_line.is_empty() {
        config.options(options_line);
    }
    let target = resolved.target.as_str();
    match mode {
        SslMode::Disable | SslMode::Allow => {
            config.ssl_mode(PgSslMode::Disable);
            let (client, conn) = config
                .connect(NoTls)
                .await
                .map_err(|e| classify(target, e, false))?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok((client, false, task))
        }
        _ => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(super::tls::tls_config(
                mode,
                resolved.root_cert.as_deref(),
            )?);
            config.ssl_mode(if mode == SslMode::Prefer {
                PgSslMode::Prefer
            } else {
                PgSslMode::Require
            });
            let is_unix =
                matches!(config.get_hosts().first(), Some(h) if !matches!(h, Host::Tcp(_)));
            if is_unix && mode != SslMode::Prefer {
                return Err(PgError::Tls(format!(
                    "sslmode requires TLS but {target} is a Unix socket, which never offers it\n(connect over TCP: host=localhost, or use sslmode=prefer)"
                )));
            }
            let (client, conn) = config
                .connect(tls)
                .await
                .map_err(|e| classify(target, e, true))?;
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok((client, !is_unix, task))
        }
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// Connect and set up the session (docs/postgres-facts.md §2). Returns warnings rather than
/// failing when tracking cannot be turned off.
pub async fn connect(opts: &ConnectOptions) -> Result<Connection, PgError> {
    let resolved = resolve(opts)?;
    let mut warnings = vec![];
    let mut base = format!(
        "-c statement_timeout={} -c lock_timeout={}",
        millis(opts.statement_timeout),
        millis(opts.lock_timeout)
    );
    if opts.read_only {
        base.push_str(" -c default_transaction_read_only=on");
    }
    let tracked_line = format!("{base} -c pg_stat_statements.track=none");
    let mut lines: Vec<(String, bool)> = vec![];
    if opts.untracked {
        lines.push((tracked_line, true));
    }
    lines.push((base, false));

    let modes: Vec<SslMode> = match resolved.ssl_mode {
        SslMode::Prefer => vec![SslMode::Prefer, SslMode::Disable],
        SslMode::Allow => vec![SslMode::Disable, SslMode::Require],
        m => vec![m],
    };
    let mut last_err = None;
    'lines: for (line, untracked) in &lines {
        for mode in &modes {
            match connect_once(&resolved, line, *mode).await {
                Ok((client, tls, task)) => {
                    if opts.untracked && !untracked {
                        warnings.push(
                            "pg_stat_statements will record idxadvise's own EXPLAINs: this role may not set pg_stat_statements.track\n(as a superuser: GRANT SET ON PARAMETER pg_stat_statements.track TO <role>;)".to_string(),
                        );
                    }
                    return Ok(Connection {
                        client,
                        warnings,
                        target: resolved.target.clone(),
                        untracked: *untracked,
                        tls,
                        task,
                    });
                }
                Err(e) => {
                    let perm_denied = matches!(&e, PgError::Connect { source: Some(s), .. }
                        if s.as_db_error().map(|d| d.code().code() == "42501").unwrap_or(false));
                    let tls_failure = matches!(&e, PgError::Connect { reason, .. }
                        if reason.to_lowercase().contains("tls") || reason.to_lowercase().contains("ssl") || reason.to_lowercase().contains("certificate") || reason.to_lowercase().contains("handshake"));
                    let auth_failure = matches!(&e, PgError::Connect { source: Some(s), .. }
                        if s.as_db_error().map(|d| d.code().code() == "28P01").unwrap_or(false));
                    last_err = Some(e);
                    if perm_denied {
                        break; // try the next options line
                    }
                    if *mode == SslMode::Prefer && tls_failure {
                        continue; // libpq falls back to plaintext after a failed handshake
                    }
                    if resolved.ssl_mode == SslMode::Allow
                        && *mode == SslMode::Disable
                        && !auth_failure
                    {
                        continue; // libpq's `allow` tries TLS after plaintext was refused
                    }
                    break 'lines;
                }
            }
        }
    }
    Err(last_err.unwrap_or_else(|| PgError::Config("no connection attempt was made".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ssl_params_off_urls() {
        let (rest, ours) =
            split_params("postgres://u:p@h:5433/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3");
        assert_eq!(rest, "postgres://u:p@h:5433/db?connect_timeout=3");
        assert_eq!(
            ours,
            vec![
                ("sslmode".to_string(), "verify-full".to_string()),
                ("sslrootcert".to_string(), "/tmp/ca.pem".to_string())
            ]
        );
        let (rest, ours) = split_params("host=h sslmode=verify-ca dbname=x");
        assert_eq!(rest, "host=h dbname=x");
        assert_eq!(ours[0].1, "verify-ca");
    }

    #[test]
    fn other_url_schemes_are_named() {
        let opts = |url: &str| ConnectOptions {
            url: Some(url.into()),
            ..ConnectOptions::default()
        };
        let Err(e) = resolve(&opts("http://bob:s3cret@localhost:5432/x")) else {
            panic!("an http:// URL must be refused");
        };
        let msg = e.to_string();
        assert!(msg.contains("must start with postgres://"), "{msg}");
        assert!(
            msg.contains("not http://") && !msg.contains("s3cret"),
            "{msg}"
        );
        assert!(resolve(&opts("postgresql://localhost/x")).is_ok());
        assert!(resolve(&opts("host=localhost dbname=x")).is_ok());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/app?sslmode=require"),
            "postgres://bob:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact("host=db password=s3cret user=bob"),
            "host=db password=*** user=bob"
        );
        assert!(!redact("postgres://h/db?password=s3cret").contains("s3cret"));
        let r = redact("host=db password='s3 cr\\'et' user=bob");
        assert_eq!(r, "host=db password=*** user=bob");
        let r = redact("host=db password = 'two words' dbname=x");
        assert_eq!(r, "host=db password=*** dbname=x");
    }

    #[test]
    fn pgpass_matches_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("pgpass");
        std::fs::write(
            &f,
            "# comment\nother:5432:*:bob:nope\n*:5433:app:bob:pa\\:ss\n",
        )
        .expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        assert_eq!(
            pgpass_lookup(&f, "db", 5433, "app", "bob").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(pgpass_lookup(&f, "db", 5432, "app", "bob"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert_eq!(
                pgpass_lookup(&f, "db", 5433, "app", "bob"),
                None,
                "world-readable file ignored"
            );
        }
    }

    #[test]
    fn bad_sslmode_is_a_config_error() {
        let opts = ConnectOptions {
            url: Some("postgres://h/db?sslmode=sometimes".into()),
            ..Default::default()
        };
        assert!(matches!(resolve(&opts), Err(PgError::Config(m)) if m.contains("sometimes")));
    }
}
