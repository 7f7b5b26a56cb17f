//! Issue 23 item 1 (the reads): lifeboat's MySQL adapter against real MariaDB servers (Debian's
//! `mariadb-server`, `make setup` installs it) on 127.0.0.1: a source and a binlog replica set up
//! here as the Linode stack runs them (GTID replication, the replica read-only). Breaking the
//! source's region stops its server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeboat_core::ErrorKind;
use lifeboat_core::mysql::{
    MyMode, MyState, MysqlLogin, MysqlTls, ReplicaLag, ReplicationLogin, ThreadState, promote,
    replica_lag,
};
use lifeboat_core::ports::{MysqlServers, Secret};
use lifeboat_mysql::MysqlAdapter;
use mysql_async::prelude::Queryable;

const USER: &str = "lifeboat";
const PASSWORD: &str = "mariadb-it-lifeboat-password-7c1e";
const REPL_PASSWORD: &str = "mariadb-it-replication-password-2d9a";

fn binary(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: `make setup` installs Debian's mariadb-server")
        })
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// One MariaDB server under the test's directory.
struct Server {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    id: u32,
    /// More options for mariadbd (TLS's).
    extra: Vec<String>,
}

impl Server {
    fn start(root: &Path, id: u32) -> Server {
        Self::start_with(root, id, Vec::new())
    }

    fn start_with(root: &Path, id: u32, extra: Vec<String>) -> Server {
        let dir = root.join(format!("server-{id}"));
        let data = dir.join("data");
        // each server its own temporary directory: bootstraps running side by side in one
        // /tmp collide on their temporary tables' names
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let mut install = Command::new(binary("mariadb-install-db"));
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .arg("--innodb-log-file-size=4M")
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .stdin(Stdio::null());
        if is_root() {
            install.arg("--user=root");
        }
        let out = install.output().unwrap();
        assert!(
            out.status.success(),
            "mariadb-install-db: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut server = Server {
            child: None,
            dir,
            port: free_port(),
            id,
            extra,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let mut cmd = Command::new(binary("mariadbd"));
        cmd.arg("--no-defaults")
            .args(&self.extra)
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--pid-file={}", self.dir.join("pid").display()))
            .arg(format!(
                "--log-error={}",
                self.dir.join("error.log").display()
            ))
            .arg(format!("--server-id={}", self.id))
            .arg(format!("--tmpdir={}", self.dir.join("tmp").display()))
            .arg("--log-bin=binlog")
            .arg("--skip-name-resolve")
            .arg("--innodb-buffer-pool-size=16M")
            .arg("--innodb-log-file-size=4M")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.arg("--user=root");
        }
        self.child = Some(cmd.spawn().expect("start mariadbd"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mariadbd on {} never listened: {}",
                self.port,
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The region goes dark: the server is killed, as a power cut would.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn root(&self) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .prefer_socket(false);
        mysql_async::Conn::new(opts).await.unwrap()
    }

    async fn position(&self) -> String {
        let mut conn = self.root().await;
        let p: Option<String> = conn.query_first("SELECT @@gtid_current_pos").await.unwrap();
        conn.disconnect().await.unwrap();
        p.unwrap_or_default()
    }

    async fn sql(&self, statements: &[&str]) {
        let mut conn = self.root().await;
        for s in statements {
            conn.query_drop(*s)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        conn.disconnect().await.unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(parent) = self.dir.parent() {
            // the pair's directory, once both servers are gone
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// GIVEN a source in us-east-1 and its binlog replica in us-west-2, replicating by GTID, each
/// with lifeboat's user (the grants docs/linode.md lists for reading).
async fn given_a_source_and_its_replica() -> (Server, Server) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "mariadb-it-{}-{}",
        std::process::id(),
        free_port()
    ));
    let source = Server::start(&root, 1);
    let replica = Server::start(&root, 2);
    let lifeboat_user = format!("CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'");
    let grants = format!(
        "GRANT REPLICA MONITOR, BINLOG MONITOR, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, RELOAD \
         ON *.* TO '{USER}'@'127.0.0.1'"
    );
    let repl_user = format!("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '{REPL_PASSWORD}'");
    source
        .sql(&[
            &lifeboat_user,
            &grants,
            &repl_user,
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'",
            "CREATE DATABASE shop",
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, total_cents INT NOT NULL)",
            "INSERT INTO shop.orders VALUES (1, 4200)",
            // the shop's own user: no SUPER, so read_only stops it
            "CREATE USER 'shop'@'127.0.0.1' IDENTIFIED BY 'shop-app-password'",
            "GRANT SELECT, INSERT ON shop.* TO 'shop'@'127.0.0.1'",
        ])
        .await;
    let change = format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
         MASTER_PASSWORD='{REPL_PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
        source.port
    );
    // lifeboat's user reaches the replica by replication, as every change of the source's
    replica
        .sql(&["SET GLOBAL read_only = 1", &change, "START REPLICA"])
        .await;
    // the set-up above has reached the replica
    let at = source.position().await;
    until("the replica holds the set-up", || async {
        replica.position().await == at
    })
    .await;
    (source, replica)
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn secret() -> Secret {
    Secret::new(PASSWORD)
}

#[tokio::test]
async fn a_replica_that_replicates_is_read_with_its_lag_and_the_sources_position() {
    let (source, replica) = given_a_source_and_its_replica().await;
    let mysql = MysqlAdapter::default();
    let pw = login();

    // WHEN both are observed once the replica has caught up
    let s = mysql.observe(&source.addr(), &pw).await.unwrap();
    until("the replica holds the source's position", || async {
        let r = mysql.observe(&replica.addr(), &pw).await;
        r.is_ok_and(|r| r.gtid_position == s.gtid_position)
    })
    .await;
    let r = mysql.observe(&replica.addr(), &pw).await.unwrap();

    // THEN the source is a writable server with no replication, the replica read-only,
    // replicating from it, 0 s behind
    assert!(s.version.contains("MariaDB"), "{s:?}");
    assert!(!s.read_only && s.replica.is_none(), "{s:?}");
    assert!(!s.gtid_position.is_empty(), "{s:?}");
    assert!(r.read_only, "{r:?}");
    let status = r.replica.as_ref().expect("a replica");
    assert_eq!(status.source, source.addr());
    assert_eq!(status.io_thread, ThreadState::Yes);
    assert!(status.sql_running);
    assert_eq!(status.read_position, status.applied_position);
    assert_eq!(replica_lag(&r), ReplicaLag::Seconds { seconds: 0 });
}

#[tokio::test]
async fn a_replica_that_stopped_applying_or_lost_its_source_is_lag_unknown_never_zero() {
    let (mut source, replica) = given_a_source_and_its_replica().await;
    let mysql = MysqlAdapter::default();
    let pw = login();
    until("replicating", || async {
        let r = mysql.observe(&replica.addr(), &pw).await;
        r.is_ok_and(|r| replica_lag(&r) == ReplicaLag::Seconds { seconds: 0 })
    })
    .await;

    // WHEN the replica's SQL thread stops: lag unknown, naming it
    replica.sql(&["STOP REPLICA SQL_THREAD"]).await;
    let r = mysql.observe(&replica.addr(), &pw).await.unwrap();
    match replica_lag(&r) {
        ReplicaLag::Unknown { reason } => assert!(reason.contains("SQL thread"), "{reason}"),
        known => panic!("{known:?}"),
    }
    replica.sql(&["START REPLICA SQL_THREAD"]).await;

    // WHEN the source's region goes dark: the source does not answer (Transient), and the
    // replica, which last said "0 seconds behind", is lag unknown
    source.kill();
    let e = mysql.observe(&source.addr(), &pw).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    until("the replica knows its source is gone", || async {
        let r = mysql.observe(&replica.addr(), &pw).await.unwrap();
        matches!(replica_lag(&r), ReplicaLag::Unknown { .. })
    })
    .await;
    let r = mysql.observe(&replica.addr(), &pw).await.unwrap();
    let status = r.replica.as_ref().unwrap();
    assert_ne!(status.io_thread, ThreadState::Yes, "{status:?}");
    assert_eq!(status.seconds_behind, None, "{status:?}");
}

#[tokio::test]
async fn a_wrong_password_is_access_denied_and_no_error_carries_a_password() {
    let (source, _replica) = given_a_source_and_its_replica().await;
    let mysql = MysqlAdapter::default();
    let wrong = Secret::new("not-the-password-but-a-secret-all-the-same-91f");
    let e = mysql
        .observe(&source.addr(), &as_user(USER, wrong))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    // a user without the monitor grants cannot read replication: AccessDenied, not "no replica"
    source
        .sql(&["CREATE USER 'nogrant'@'127.0.0.1' IDENTIFIED BY 'nogrant-password-55'"])
        .await;
    let e2 = mysql
        .observe(
            &source.addr(),
            &as_user("nogrant", Secret::new("nogrant-password-55")),
        )
        .await
        .unwrap_err();
    assert_eq!(e2.kind(), ErrorKind::AccessDenied, "{e2}");
    for shown in [
        format!("{e}"),
        format!("{e:?}"),
        format!("{e2}"),
        format!("{e2:?}"),
    ] {
        assert!(
            !shown.contains("not-the-password") && !shown.contains("nogrant-password"),
            "{shown}"
        );
    }
    let e = mysql.observe("127.0.0.1", &login()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

fn login() -> MysqlLogin {
    MysqlLogin {
        user: USER.into(),
        password: secret(),
        replication: Some(ReplicationLogin {
            user: "repl".into(),
            password: Secret::new(REPL_PASSWORD),
        }),
        tls: None,
    }
}

/// Another user's login (reads only).
fn as_user(user: &str, password: Secret) -> MysqlLogin {
    MysqlLogin {
        user: user.into(),
        password,
        replication: None,
        tls: None,
    }
}

/// The shop writes an order as its own user (no SUPER): `Err` with the server's code when the
/// server refuses it (1290: read-only).
async fn order(server: &Server, id: u32) -> Result<(), u16> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(server.port)
        .user(Some("shop"))
        .pass(Some("shop-app-password"))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await.unwrap();
    let done = conn
        .query_drop(format!("INSERT INTO shop.orders VALUES ({id}, 100)"))
        .await;
    conn.disconnect().await.unwrap();
    match done {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) => Err(e.code),
        Err(e) => panic!("{e}"),
    }
}

async fn orders(server: &Server) -> Vec<u32> {
    let mut conn = server.root().await;
    let ids: Vec<u32> = conn
        .query("SELECT id FROM shop.orders ORDER BY id")
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    ids
}

/// Promote until done, as the state machine's retries would (each call safe to repeat).
async fn promote_until_done(
    mysql: &MysqlAdapter,
    target: &Server,
    source: &Server,
    mode: MyMode,
) -> Vec<MyState> {
    let mut states = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let p = promote(mysql, &target.addr(), &source.addr(), mode, &login())
            .await
            .unwrap_or_else(|e| panic!("promote: {e}"));
        states.push(p.state.clone());
        if p.state == MyState::Done && p.ops.is_empty() {
            return states;
        }
        assert!(Instant::now() < deadline, "never done: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_switchover_loses_no_order_and_the_planned_switchover_back_brings_the_shop_home() {
    let (source, replica) = given_a_source_and_its_replica().await;
    let mysql = MysqlAdapter::default();
    // GIVEN an order written at home just before
    order(&source, 2).await.unwrap();

    // WHEN lifeboat switches over to us-west-2
    let states = promote_until_done(&mysql, &replica, &source, MyMode::Switchover).await;
    assert_eq!(states.first(), Some(&MyState::Demoting), "{states:?}");

    // THEN no order is lost, us-west-2 takes the shop's writes, home takes none and replicates
    assert_eq!(orders(&replica).await, [1, 2]);
    assert_eq!(order(&source, 3).await, Err(1290), "home is read-only");
    order(&replica, 3).await.unwrap();
    let pw = login();
    until("home replicates us-west-2 and holds order 3", || async {
        let h = mysql.observe(&source.addr(), &pw).await.unwrap();
        h.replica
            .as_ref()
            .is_some_and(|r| r.source == replica.addr())
            && replica_lag(&h) == ReplicaLag::Seconds { seconds: 0 }
            && h.gtid_position
                == mysql
                    .observe(&replica.addr(), &pw)
                    .await
                    .unwrap()
                    .gtid_position
    })
    .await;
    assert_eq!(orders(&source).await, [1, 2, 3]);
    let w = mysql.observe(&replica.addr(), &pw).await.unwrap();
    assert!(!w.read_only && w.replica.is_none(), "{w:?}");

    // AND the way home is the same switchover back: nothing lost, us-west-2 the replica again
    promote_until_done(&mysql, &source, &replica, MyMode::Switchover).await;
    order(&source, 4).await.unwrap();
    assert_eq!(order(&replica, 5).await, Err(1290));
    until("us-west-2 replicates home again", || async {
        orders(&replica).await == [1, 2, 3, 4]
    })
    .await;
    let h = mysql.observe(&source.addr(), &pw).await.unwrap();
    assert!(!h.read_only && h.replica.is_none(), "{h:?}");
}

#[tokio::test]
async fn a_failover_promotes_what_the_replica_received_and_the_source_back_writable_is_fenced() {
    let (mut source, replica) = given_a_source_and_its_replica().await;
    let mysql = MysqlAdapter::default();
    order(&source, 2).await.unwrap();
    until("order 2 replicated", || async {
        orders(&replica).await == [1, 2]
    })
    .await;

    // WHEN us-east-1 goes dark
    source.kill();
    // a switchover cannot go on without the source: refused, nothing changed
    let e = promote(
        &mysql,
        &replica.addr(),
        &source.addr(),
        MyMode::Switchover,
        &login(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    let pw = login();
    assert!(mysql.observe(&replica.addr(), &pw).await.unwrap().read_only);

    // THEN the failover the decision allowed promotes us-west-2 with what it received
    promote_until_done(&mysql, &replica, &source, MyMode::Failover).await;
    order(&replica, 3).await.unwrap();
    assert_eq!(orders(&replica).await, [1, 2, 3]);

    // AND home comes back writable (a restart forgets read_only): the next call fences it,
    // then points it at us-west-2, from which it catches up
    source.run();
    assert!(!mysql.observe(&source.addr(), &pw).await.unwrap().read_only);
    let p = promote(
        &mysql,
        &replica.addr(),
        &source.addr(),
        MyMode::Failover,
        &login(),
    )
    .await
    .unwrap();
    assert_eq!(p.fenced.as_deref(), Some(source.addr().as_str()), "{p:?}");
    assert_eq!(
        order(&source, 9).await,
        Err(1290),
        "fenced: home takes no writes"
    );
    promote_until_done(&mysql, &replica, &source, MyMode::Failover).await;
    until("home caught up from us-west-2", || async {
        orders(&source).await == [1, 2, 3]
    })
    .await;
}

/// A CA and a server certificate it signed for 127.0.0.1 (openssl, as a shop's PKI would issue
/// them), and a second CA that signed nothing here; PEM files under `dir`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for ca in ["ca", "other-ca"] {
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN=lifeboat test {ca}"),
        ]);
    }
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("other-ca.pem"),
    )
}

#[tokio::test]
async fn with_tls_the_server_is_reached_only_through_a_certificate_of_the_plans_ca() {
    // GIVEN a server with a certificate the shop's CA signed, lifeboat's user REQUIRE SSL
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "mariadb-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    let (ca, cert, key, other_ca) = certificates(&root.join("pki"));
    let server = Server::start_with(
        &root,
        1,
        vec![
            format!("--ssl-ca={}", ca.display()),
            format!("--ssl-cert={}", cert.display()),
            format!("--ssl-key={}", key.display()),
        ],
    );
    server
        .sql(&[
            &format!("CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL"),
            &format!("GRANT REPLICA MONITOR, BINLOG MONITOR ON *.* TO '{USER}'@'127.0.0.1'"),
        ])
        .await;
    let mysql = MysqlAdapter::default();
    let with_ca = |pem: &Path| MysqlLogin {
        tls: Some(MysqlTls {
            ca_pem: Some(std::fs::read_to_string(pem).unwrap()),
        }),
        ..login()
    };
    // WHEN lifeboat connects without TLS: the server refuses the login
    let e = mysql.observe(&server.addr(), &login()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    // WHEN with TLS and the shop's CA: it reads the server
    let v = mysql.observe(&server.addr(), &with_ca(&ca)).await.unwrap();
    assert!(!v.read_only && v.version.contains("MariaDB"), "{v:?}");
    // WHEN with TLS and a CA that did not sign the server's certificate: refused before the
    // login is sent, a precondition (retrying cannot help), no password shown
    let e = mysql
        .observe(&server.addr(), &with_ca(&other_ca))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    assert!(e.message().contains("certificate"), "{e}");
    assert!(!format!("{e:?}").contains(PASSWORD), "{e:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
