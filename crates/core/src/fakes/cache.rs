//! Fakes: Redis nodes and Sentinels (the cache), in memory.

use super::prelude::*;

/// One fake Redis node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNode {
    /// `None`: a master; `Some(addr)`: a replica of it.
    pub replica_of: Option<String>,
    pub offset: u64,
    pub up: bool,
    /// A master's stream id (a replica reports its master's), and the one it continued from.
    pub replid: String,
    pub replid2: String,
}

/// Redis nodes and Sentinels by address; a node or Sentinel that is not `up` (or not known)
/// does not answer (`Transient`); a password other than `password` is `AccessDenied`.
#[derive(Debug, Default)]
pub struct FakeCacheNodes {
    pub password: Option<String>,
    pub nodes: Mutex<BTreeMap<String, FakeNode>>,
    /// What each Sentinel watches under the plan's name (`None`: nothing), and whether it is up.
    pub sentinels: Mutex<BTreeMap<String, (Option<String>, bool)>>,
    /// Every write, in order (`replicaof a b`, `monitor s a`, `remove s`).
    pub writes: Mutex<Vec<String>>,
}

impl FakeCacheNodes {
    pub fn new(password: Option<&str>) -> Self {
        Self {
            password: password.map(str::to_string),
            ..Self::default()
        }
    }

    /// A node; a master's stream id is `stream-<addr>` (a replica takes its master's).
    pub fn node(&self, addr: &str, replica_of: Option<&str>, offset: u64) -> &Self {
        self.nodes.lock().unwrap().insert(
            addr.to_string(),
            FakeNode {
                replica_of: replica_of.map(str::to_string),
                offset,
                up: true,
                replid: format!("stream-{addr}"),
                replid2: "0".repeat(8),
            },
        );
        self
    }

    pub fn sentinel(&self, addr: &str, watching: Option<&str>) -> &Self {
        self.sentinels
            .lock()
            .unwrap()
            .insert(addr.to_string(), (watching.map(str::to_string), true));
        self
    }

    /// Every node and Sentinel whose address starts with `prefix` stops answering.
    pub fn go_dark(&self, prefix: &str) {
        for (a, n) in self.nodes.lock().unwrap().iter_mut() {
            if a.starts_with(prefix) {
                n.up = false;
            }
        }
        for (a, s) in self.sentinels.lock().unwrap().iter_mut() {
            if a.starts_with(prefix) {
                s.1 = false;
            }
        }
    }

    pub fn view(&self, addr: &str) -> Option<FakeNode> {
        self.nodes.lock().unwrap().get(addr).cloned()
    }

    pub fn watching(&self, sentinel: &str) -> Option<String> {
        self.sentinels
            .lock()
            .unwrap()
            .get(sentinel)
            .and_then(|s| s.0.clone())
    }

    fn auth(&self, addr: &str, password: Option<&Secret>) -> Result<()> {
        if self.password.as_deref() == password.map(Secret::expose) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::AccessDenied,
                format!("redis {addr}: WRONGPASS"),
            ))
        }
    }
}

fn silent(addr: &str) -> Error {
    Error::new(
        ErrorKind::Transient,
        format!("redis {addr}: connection refused"),
    )
}

impl CacheNodes for FakeCacheNodes {
    async fn replication(&self, node: &str, password: Option<&Secret>) -> Result<CacheNodeView> {
        let n = self
            .view(node)
            .filter(|n| n.up)
            .ok_or_else(|| silent(node))?;
        self.auth(node, password)?;
        let master = n.replica_of.as_deref().and_then(|m| self.view(m));
        Ok(CacheNodeView {
            role: match &n.replica_of {
                None => CacheRole::Master,
                Some(m) => CacheRole::Replica {
                    master: m.clone(),
                    link_up: master.as_ref().is_some_and(|m| m.up),
                },
            },
            offset: n.offset,
            replid: master.map_or(n.replid.clone(), |m| m.replid),
            replid2: n.replid2.clone(),
        })
    }

    async fn replicate(
        &self,
        node: &str,
        master: Option<&str>,
        password: Option<&Secret>,
    ) -> Result<()> {
        self.replication(node, password).await?;
        let mut nodes = self.nodes.lock().unwrap();
        let master_offset = master.and_then(|m| nodes.get(m).filter(|m| m.up).map(|m| m.offset));
        // the stream a replica held: its master's
        let held = nodes
            .get(node)
            .and_then(|n| n.replica_of.clone())
            .and_then(|m| nodes.get(&m).map(|m| m.replid.clone()));
        if let Some(n) = nodes.get_mut(node) {
            if let (None, Some(held)) = (master, held) {
                // promoted: a new stream that continues the one it held
                n.replid2 = held;
                n.replid = format!("stream-{node}-promoted");
            }
            n.replica_of = master.map(str::to_string);
            if let Some(o) = master_offset {
                n.offset = o; // a full resync: it has all of its new master's stream
            }
        }
        self.writes
            .lock()
            .unwrap()
            .push(format!("replicaof {node} {}", master.unwrap_or("no one")));
        Ok(())
    }

    async fn watched(&self, sentinel: &str, _name: &str) -> Result<Option<String>> {
        match self.sentinels.lock().unwrap().get(sentinel) {
            Some((w, true)) => Ok(w.clone()),
            _ => Err(silent(sentinel)),
        }
    }

    async fn watch(
        &self,
        sentinel: &str,
        _name: &str,
        master: &str,
        _quorum: u32,
        password: Option<&Secret>,
    ) -> Result<()> {
        let mut sentinels = self.sentinels.lock().unwrap();
        match sentinels.get_mut(sentinel) {
            Some((w, true)) => {
                if w.is_some() {
                    return Err(Error::invalid_input(format!(
                        "redis {sentinel}: SENTINEL MONITOR: Duplicated master name"
                    )));
                }
                *w = Some(master.to_string());
            }
            _ => return Err(silent(sentinel)),
        }
        self.writes.lock().unwrap().push(format!(
            "monitor {sentinel} {master}{}",
            if password.is_some() { " auth-pass" } else { "" }
        ));
        Ok(())
    }

    async fn replicas(&self, sentinel: &str, _name: &str) -> Result<Vec<SeenReplica>> {
        let watched = match self.sentinels.lock().unwrap().get(sentinel) {
            Some((w, true)) => w.clone(),
            _ => return Err(silent(sentinel)),
        };
        let Some(master) = watched else {
            return Err(Error::invalid_input(format!(
                "redis {sentinel}: SENTINEL REPLICAS: No such master with that name"
            )));
        };
        let nodes = self.nodes.lock().unwrap();
        let master_up = nodes.get(&master).is_some_and(|m| m.up);
        Ok(nodes
            .iter()
            .filter(|(_, n)| n.replica_of.as_deref() == Some(master.as_str()))
            .map(|(a, n)| SeenReplica {
                addr: a.clone(),
                link_up: n.up && master_up,
                offset: n.offset,
            })
            .collect())
    }

    async fn unwatch(&self, sentinel: &str, _name: &str) -> Result<()> {
        match self.sentinels.lock().unwrap().get_mut(sentinel) {
            Some((w, true)) => *w = None,
            _ => return Err(silent(sentinel)),
        }
        self.writes
            .lock()
            .unwrap()
            .push(format!("remove {sentinel}"));
        Ok(())
    }
}
