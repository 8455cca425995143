//! TLS against a dedicated cluster with `ssl = on` and a certificate from a CA made here with
//! the openssl CLI: verify-full and verify-ca succeed with the right root, fail clearly with the
//! wrong host name or the wrong CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use idxadvise::error::{EXIT_CONNECT, EXIT_OK};

use crate::cli::idxadvise;
use crate::support::{Cluster, ClusterOptions};

struct Tls {
    cluster: Cluster,
    ca: PathBuf,
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN=idxadvise test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        make_ca(d, "ca");
        make_ca(d, "other");
        openssl(
            d,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                "-out", "server.csr", "-subj", "/CN=localhost",
            ],
        );
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext");
        openssl(
            d,
            &[
                "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf",
            ],
        );
        let read = |n: &str| std::fs::read(d.join(n)).expect("cert file");
        let cluster = Cluster::start_with(&ClusterOptions {
            extra_conf: "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                .into(),
            files: vec![
                ("server.crt".into(), read("server.crt")),
                ("server.key".into(), read("server.key")),
            ],
            ..ClusterOptions::default()
        });
        Tls {
            cluster,
            ca: d.join("ca.crt"),
            other_ca: d.join("other.crt"),
            _dir: dir,
        }
    })
}

fn url(t: &Tls, host: &str, mode: &str, root: &Path) -> String {
    format!(
        "postgres://postgres@{host}:{}/postgres?sslmode={mode}&sslrootcert={}",
        t.cluster.port,
        root.display()
    )
}

#[test]
fn verify_full_with_the_right_ca_and_host() {
    let t = tls();
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url(t, "localhost", "verify-full", &t.ca),
    ]);
    assert_eq!(run.code, EXIT_OK, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ready: everything"), "{}", run.stdout);
    // verify-ca checks the chain only: the IP address is not in the certificate, yet it passes.
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url(t, "127.0.0.1", "verify-ca", &t.ca),
    ]);
    assert_eq!(run.code, EXIT_OK, "{}\n{}", run.stdout, run.stderr);
    // require encrypts without verifying.
    let run = idxadvise(&[
        "check",
        "--database-url",
        &format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=require",
            t.cluster.port
        ),
    ]);
    assert_eq!(run.code, EXIT_OK, "{}", run.stderr);
}

#[test]
fn verify_full_with_the_wrong_host_name_fails_clearly() {
    let t = tls();
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url(t, "127.0.0.1", "verify-full", &t.ca),
    ]);
    run.assert_error(
        EXIT_CONNECT,
        &[
            "cannot connect to postgres@127.0.0.1",
            "certificate",
            "sslrootcert",
        ],
    );
    assert!(run.stderr.to_lowercase().contains("name"), "{}", run.stderr);
}

#[test]
fn verify_ca_with_the_wrong_ca_fails_clearly() {
    let t = tls();
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url(t, "localhost", "verify-ca", &t.other_ca),
    ]);
    run.assert_error(EXIT_CONNECT, &["certificate", "sslrootcert"]);
    let run = idxadvise(&[
        "check",
        "--database-url",
        &url(
            t,
            "localhost",
            "verify-full",
            Path::new("/nonexistent/root.crt"),
        ),
    ]);
    run.assert_error(
        EXIT_CONNECT,
        &["cannot read sslrootcert /nonexistent/root.crt"],
    );
}
