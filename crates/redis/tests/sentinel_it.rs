//! The cache adapter and lifeboat_core::cache against real Redis and Sentinel servers on
//! loopback (Debian's redis-server and redis-sentinel, installed by `make setup`): two
//! "regions", each with its own nodes and three Sentinels; breaking a region stops its
//! processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeboat_core::ErrorKind;
use lifeboat_core::cache::{active_master, promote};
use lifeboat_core::plan::{CacheFailover, CachePlan, CacheProvider, RegionCachePlan};
use lifeboat_core::ports::{CacheNodes, CacheRole, Secret};
use lifeboat_redis::RedisSentinel;

const PASSWORD: &str = "cache-pw-9f3b1c";
const NAME: &str = "shop-cache";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn which(program: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = PathBuf::from(dir).join(program);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{program} is not installed: run `make setup` (it installs Debian's redis-server and redis-sentinel)"
    );
}

/// One process, stopped when dropped; `start` brings it back as it was configured (a region
/// coming back).
struct Proc {
    addr: String,
    program: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl Proc {
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn start(&mut self) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(Instant::now() < deadline, "{} never listened", self.addr);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Region {
    nodes: Vec<Proc>,
    sentinels: Vec<Proc>,
}

impl Region {
    fn plan(&self) -> RegionCachePlan {
        RegionCachePlan {
            nodes: self.nodes.iter().map(|p| p.addr.clone()).collect(),
            sentinels: self.sentinels.iter().map(|p| p.addr.clone()).collect(),
        }
    }

    fn go_dark(&mut self) {
        self.nodes.iter_mut().for_each(Proc::stop);
        self.sentinels.iter_mut().for_each(Proc::stop);
    }

    /// Back: the nodes as configured, without their data (no persistence); the Sentinels with
    /// the standby layout's configuration, watching nothing (docs/plan.md: a region's Sentinels
    /// that come back with their old state turn the other region's master back into a replica
    /// of theirs within seconds).
    fn come_back(&mut self) {
        self.nodes.iter_mut().for_each(Proc::start);
        for s in &mut self.sentinels {
            let conf = PathBuf::from(s.args.last().expect("a config file"));
            let port = s.addr.rsplit_once(':').expect("host:port").1.to_string();
            let dir = conf.parent().expect("a directory").display().to_string();
            std::fs::write(&conf, format!("port {port}\nbind 127.0.0.1\ndir {dir}\n"))
                .expect("sentinel config");
            s.start();
        }
    }
}

struct World {
    dir: PathBuf,
    home: Region,
    away: Region,
}

impl Drop for World {
    fn drop(&mut self) {
        self.home.go_dark();
        self.away.go_dark();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn node(dir: &std::path::Path, replica_of: Option<&str>) -> Proc {
    let port = free_port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        PASSWORD,
        "--masterauth",
        PASSWORD,
        "--repl-diskless-sync",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
        "--dir",
        &dir.display().to_string(),
        "--dbfilename",
        &format!("dump-{port}.rdb"),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if let Some(m) = replica_of {
        let (h, p) = m.rsplit_once(':').expect("host:port");
        args.extend(["--replicaof".to_string(), h.to_string(), p.to_string()]);
    }
    spawn(which("redis-server"), args, port)
}

fn sentinel(dir: &std::path::Path, watching: Option<&str>) -> Proc {
    let port = free_port();
    let conf = dir.join(format!("sentinel-{port}.conf"));
    let mut text = format!("port {port}\nbind 127.0.0.1\ndir {}\n", dir.display());
    if let Some(m) = watching {
        let (h, p) = m.rsplit_once(':').expect("host:port");
        text += &format!(
            "sentinel monitor {NAME} {h} {p} 2\nsentinel auth-pass {NAME} {PASSWORD}\nsentinel down-after-milliseconds {NAME} 60000\n"
        );
    }
    std::fs::write(&conf, text).expect("sentinel config");
    spawn(
        which("redis-sentinel"),
        vec![conf.display().to_string()],
        port,
    )
}

fn spawn(program: PathBuf, args: Vec<String>, port: u16) -> Proc {
    let mut p = Proc {
        addr: format!("127.0.0.1:{port}"),
        program,
        args,
        child: None,
    };
    p.start();
    p
}

/// Home: a1 the master, a2 its replica, three Sentinels watching a1. Away (the standby): b1
/// and b2 replicating a1 across the "regions", three Sentinels watching nothing.
fn world(tag: &str) -> World {
    let dir = std::env::temp_dir().join(format!("lifeboat-redis-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    // the nodes first: a Sentinel sees the replicas its master lists when it first connects
    let a1 = node(&dir, None);
    let master = a1.addr.clone();
    let home_nodes = vec![a1, node(&dir, Some(&master))];
    let away_nodes = vec![node(&dir, Some(&master)), node(&dir, Some(&master))];
    let home = Region {
        nodes: home_nodes,
        sentinels: (0..3).map(|_| sentinel(&dir, Some(&master))).collect(),
    };
    let away = Region {
        nodes: away_nodes,
        sentinels: (0..3).map(|_| sentinel(&dir, None)).collect(),
    };
    World { dir, home, away }
}

fn plan(on_failover: CacheFailover) -> CachePlan {
    CachePlan {
        provider: CacheProvider::RedisSentinel,
        master_name: NAME.into(),
        on_failover,
        quorum: 2,
        password_parameter: Some("/lifeboat/shop/cache-password".into()),
    }
}

fn secret() -> Secret {
    Secret::new(PASSWORD)
}

/// A raw command to a node, as the shop's own client would send it.
async fn raw(addr: &str, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://:{PASSWORD}@{addr}/"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await
}

/// Every one of `sentinels` answers, watching `want` under the plan's name.
async fn watching(port: &RedisSentinel, sentinels: &[String], want: Option<&str>) {
    for s in sentinels {
        assert_eq!(
            port.watched(s, NAME)
                .await
                .expect("a sentinel answers")
                .as_deref(),
            want,
            "{s}"
        );
    }
}

/// Until every node of `nodes` has all of `master`'s stream (the link up and the offsets equal).
async fn caught_up(port: &RedisSentinel, master: &str, nodes: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = port
            .replication(master, Some(&secret()))
            .await
            .expect("the master answers");
        let mut all = true;
        for n in nodes {
            let v = port
                .replication(n, Some(&secret()))
                .await
                .expect("a replica answers");
            let linked = matches!(v.role, CacheRole::Replica { link_up: true, .. });
            all &= linked && v.offset >= m.offset;
        }
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{nodes:?} never caught up with {master}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_promotes_the_standby_region_with_its_data_and_fences_the_old_one_and_failback_brings_it_home()
 {
    // GIVEN both regions up, a cart written in the home region and replicated across
    let w = world("there-and-back");
    let port = RedisSentinel::default();
    let (home, away) = (w.home.plan(), w.away.plan());
    let a1 = home.nodes[0].clone();
    raw(&a1, &["SET", "cart:42", "3 items"])
        .await
        .expect("a write at home");
    let all: Vec<String> = home.nodes[1..].iter().chain(&away.nodes).cloned().collect();
    caught_up(&port, &a1, &all).await;

    // AND the home Sentinels see the away nodes as the master's replicas, link up (readiness
    // reads this without the password)
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = port
            .replicas(&home.sentinels[0], NAME)
            .await
            .expect("a sentinel answers");
        if away
            .nodes
            .iter()
            .all(|n| seen.iter().any(|r| r.addr == *n && r.link_up))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the away nodes never seen as replicas: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let none = port
        .replicas(&away.sentinels[0], NAME)
        .await
        .expect_err("watches nothing");
    assert_eq!(none.kind(), ErrorKind::InvalidInput, "{none}");

    // WHEN lifeboat promotes the away region's cache
    let out = promote(
        &port,
        &plan(CacheFailover::Promote),
        &away,
        &home,
        Some(&secret()),
    )
    .await
    .expect("promoted");

    // THEN an away node is the master, with the cart, nothing behind
    assert!(away.nodes.contains(&out.master), "{out:?}");
    assert_eq!(out.behind_bytes, Some(0), "{out:?}");
    assert_eq!(
        raw(&out.master, &["GET", "cart:42"]).await.expect("a read"),
        redis::Value::BulkString(b"3 items".to_vec())
    );
    raw(&out.master, &["SET", "cart:43", "1 item"])
        .await
        .expect("the new master takes writes");
    // AND every away Sentinel watches it, so the shop's clients find it by name
    watching(&port, &away.sentinels, Some(&out.master)).await;
    assert_eq!(
        active_master(&port, &plan(CacheFailover::Promote), &away, Some(&secret()))
            .await
            .expect("active"),
        out.master
    );
    // AND the home region is fenced: its Sentinels watch nothing (they cannot fail a1 back
    // over) and its nodes replicate the new master, refusing writes
    watching(&port, &home.sentinels, None).await;
    for n in &home.nodes {
        let v = port
            .replication(n, Some(&secret()))
            .await
            .expect("a home node answers");
        assert!(
            matches!(&v.role, CacheRole::Replica { master, .. } if *master == out.master),
            "{n}: {v:?}"
        );
    }
    let refused = raw(&a1, &["SET", "cart:44", "lost"])
        .await
        .expect_err("a1 is read-only");
    assert!(refused.to_string().contains("read only"), "{refused}");
    assert!(out.not_reached.is_empty(), "{out:?}");
    assert_eq!(
        out.fenced.len(),
        3 + 2,
        "three sentinels unwatch, two nodes follow: {out:?}"
    );

    // AND a repeat changes nothing
    let again = promote(
        &port,
        &plan(CacheFailover::Promote),
        &away,
        &home,
        Some(&secret()),
    )
    .await
    .expect("a repeat");
    assert_eq!(
        (again.master.as_str(), again.done.len(), again.fenced.len()),
        (out.master.as_str(), 0, 0)
    );

    // WHEN the failback promotes the home region once it has caught up
    let rest: Vec<String> = home
        .nodes
        .iter()
        .chain(&away.nodes)
        .filter(|n| **n != out.master)
        .cloned()
        .collect();
    caught_up(&port, &out.master, &rest).await;
    let back = promote(
        &port,
        &plan(CacheFailover::Promote),
        &home,
        &away,
        Some(&secret()),
    )
    .await
    .expect("home again");
    // THEN home has a master with both carts, and away is the standby again
    assert_eq!(back.master, a1, "equal offsets keep the plan's order");
    assert_eq!(back.behind_bytes, Some(0));
    assert_eq!(
        raw(&a1, &["GET", "cart:43"]).await.expect("a read"),
        redis::Value::BulkString(b"1 item".to_vec())
    );
    watching(&port, &away.sentinels, None).await;
    watching(&port, &home.sentinels, Some(&a1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_home_region_is_named_not_reached_and_the_promotion_still_happens() {
    // GIVEN the home region's processes are stopped
    let mut w = world("dark");
    let port = RedisSentinel::new(Duration::from_secs(2));
    let (home, away) = (w.home.plan(), w.away.plan());
    caught_up(&port, &home.nodes[0], &away.nodes).await;
    w.home.go_dark();
    // WHEN lifeboat promotes the away region
    let out = promote(
        &port,
        &plan(CacheFailover::Promote),
        &away,
        &home,
        Some(&secret()),
    )
    .await
    .expect("promoted without the home region");
    // THEN the away region is active, and every home node and Sentinel is named as not reached
    assert!(away.nodes.contains(&out.master));
    assert_eq!(
        out.behind_bytes, None,
        "the old master did not answer: the loss is unknown"
    );
    assert_eq!(out.not_reached.len(), 2 + 3, "{out:?}");
    assert!(out.fenced.is_empty());
    watching(&port, &away.sentinels, Some(&out.master)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_silent_region_changes_nothing_and_never_shows_the_password() {
    let w = world("refused");
    let port = RedisSentinel::new(Duration::from_secs(2));
    let (home, away) = (w.home.plan(), w.away.plan());
    caught_up(&port, &home.nodes[0], &away.nodes).await;
    // WHEN the password is wrong
    let wrong = Secret::new("not-the-password-77");
    let e = promote(
        &port,
        &plan(CacheFailover::Promote),
        &away,
        &home,
        Some(&wrong),
    )
    .await
    .expect_err("refused");
    // THEN it is AccessDenied (retrying cannot help) and nothing was promoted
    assert_eq!(e.kind(), ErrorKind::AccessDenied, "{e}");
    assert!(
        !e.message().contains("not-the-password-77") && !e.message().contains(PASSWORD),
        "{e}"
    );
    let denied = port
        .replication(&away.nodes[0], Some(&wrong))
        .await
        .expect_err("denied");
    assert_eq!(denied.kind(), ErrorKind::AccessDenied, "{denied}");
    assert!(
        !denied.message().contains("not-the-password-77"),
        "{denied}"
    );
    let none = port
        .replication(&away.nodes[0], None)
        .await
        .expect_err("no password");
    assert_eq!(none.kind(), ErrorKind::AccessDenied, "{none}");
    for n in &away.nodes {
        let v = port.replication(n, Some(&secret())).await.expect("answers");
        assert!(
            matches!(v.role, CacheRole::Replica { .. }),
            "{n} unchanged: {v:?}"
        );
    }
    watching(&port, &away.sentinels, None).await;
    // AND nobody listening is Transient, named
    let gone = format!("127.0.0.1:{}", free_port());
    let e = port
        .replication(&gone, Some(&secret()))
        .await
        .expect_err("nobody");
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(e.message().contains(&gone), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_cache_is_checked_not_changed() {
    let w = world("cold");
    let port = RedisSentinel::new(Duration::from_secs(2));
    let (home, away) = (w.home.plan(), w.away.plan());
    // GIVEN the away region's Sentinels watch nothing: cold means lifeboat does not promote
    let e = promote(
        &port,
        &plan(CacheFailover::Cold),
        &away,
        &home,
        Some(&secret()),
    )
    .await
    .expect_err("not ready");
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
    for n in &away.nodes {
        let v = port.replication(n, Some(&secret())).await.expect("answers");
        assert!(
            matches!(v.role, CacheRole::Replica { .. }),
            "{n} unchanged: {v:?}"
        );
    }
    // AND the home region, as the shop runs it, is ready
    let out = promote(
        &port,
        &plan(CacheFailover::Cold),
        &home,
        &away,
        Some(&secret()),
    )
    .await
    .expect("ready");
    assert_eq!(out.master, home.nodes[0]);
    assert!(out.done.is_empty() && out.fenced.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_region_back_empty_catches_up_before_the_failback_promotes_it_and_no_cart_is_lost() {
    // GIVEN a cart written at home, then the home region goes dark and the cache fails over
    let mut w = world("comes-back");
    let port = RedisSentinel::new(Duration::from_secs(2));
    let (home, away) = (w.home.plan(), w.away.plan());
    let a1 = home.nodes[0].clone();
    raw(&a1, &["SET", "cart:42", "3 items"])
        .await
        .expect("a write at home");
    caught_up(&port, &a1, &away.nodes).await;
    w.home.go_dark();
    let out = promote(
        &port,
        &plan(CacheFailover::Promote),
        &away,
        &home,
        Some(&secret()),
    )
    .await
    .expect("failed over");
    raw(&out.master, &["SET", "cart:43", "1 item"])
        .await
        .expect("a write away");
    // AND the home region comes back: a1 an empty master, a2 its replica, its Sentinels with the
    // standby layout's configuration
    w.home.come_back();
    assert_eq!(
        raw(&a1, &["GET", "cart:42"]).await.expect("a read"),
        redis::Value::Nil,
        "a1 came back empty"
    );

    // WHEN the failback moves the cache home
    let first = promote(
        &port,
        &plan(CacheFailover::Promote),
        &home,
        &away,
        Some(&secret()),
    )
    .await
    .expect_err("not yet");
    // THEN a1's emptiness never wins: home first catches up with the away master (Transient,
    // retried by the state machine), its Sentinels no longer watching a1
    assert_eq!(first.kind(), ErrorKind::Transient, "{first}");
    assert!(first.message().contains("catching up"), "{first}");
    watching(&port, &home.sentinels, None).await;
    caught_up(&port, &out.master, &home.nodes).await;
    // AND the next call promotes home with every cart
    let back = promote(
        &port,
        &plan(CacheFailover::Promote),
        &home,
        &away,
        Some(&secret()),
    )
    .await
    .expect("home again");
    assert!(home.nodes.contains(&back.master), "{back:?}");
    for (key, value) in [("cart:42", "3 items"), ("cart:43", "1 item")] {
        assert_eq!(
            raw(&back.master, &["GET", key]).await.expect("a read"),
            redis::Value::BulkString(value.as_bytes().to_vec()),
            "{key}"
        );
    }
    watching(&port, &home.sentinels, Some(&back.master)).await;
    watching(&port, &away.sentinels, None).await;
}
