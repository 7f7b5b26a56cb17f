//! MySQL / MariaDB with a binlog replica in the other region (issue 23, the Linode stack): what
//! lifeboat reads of a server, and the rules it draws from it. The adapter
//! (`lifeboat_mysql`) reads; the rules live here only.
//!
//! A replica's lag is known only while it replicates: its I/O thread connected to the source
//! (`Yes`), its SQL thread applying, and the server giving `Seconds_Behind_Master` (MariaDB) /
//! `Seconds_Behind_Source` (MySQL). A stopped thread, a thread still connecting, an error or no
//! number is [`ReplicaLag::Unknown`] with the reason, never "lag 0": a replica whose source
//! went dark has stopped receiving, and its last "0 seconds behind" says nothing about what the
//! source wrote since.

use serde::{Deserialize, Serialize};

/// One server as lifeboat reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MysqlServerView {
    /// `@@version` (MariaDB's says so).
    pub version: String,
    /// `@@read_only`: a replica, a fenced source or a source in a switchover refuses writes
    /// from users without the `SUPER` / `READ_ONLY ADMIN` privilege.
    pub read_only: bool,
    /// The transactions the server holds: `@@gtid_current_pos` (MariaDB) or `@@gtid_executed`
    /// (MySQL); empty when it has none or does not use GTIDs.
    pub gtid_position: String,
    /// Its replication from a source, when one is configured (`SHOW REPLICA STATUS` has a row).
    pub replica: Option<ReplicaStatus>,
}

/// A replica's `SHOW REPLICA STATUS` (MariaDB: also `SHOW SLAVE STATUS`), in either server's
/// column names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// `host:port` of its source.
    pub source: String,
    /// The I/O thread (`Slave_IO_Running` / `Replica_IO_Running`).
    pub io_thread: ThreadState,
    /// The SQL thread (`Slave_SQL_Running` / `Replica_SQL_Running`).
    pub sql_running: bool,
    /// `Seconds_Behind_Master` / `Seconds_Behind_Source`: `NULL` (None) when not replicating.
    pub seconds_behind: Option<u64>,
    /// The source's binlog file and position read into the relay log
    /// (`Master_Log_File`/`Read_Master_Log_Pos`) and applied
    /// (`Relay_Master_Log_File`/`Exec_Master_Log_Pos`).
    pub read_position: BinlogPosition,
    pub applied_position: BinlogPosition,
    /// The last I/O and SQL errors, as the server said them (bounded, inert when shown).
    pub last_io_error: String,
    pub last_sql_error: String,
}

/// A replication thread's state as the server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    Yes,
    /// Still trying to reach the source (MySQL and MariaDB say `Connecting`; also `Preparing`).
    Connecting,
    No,
}

/// A position in a source's binary log.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
}

/// What a replica's lag is, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "lag")]
pub enum ReplicaLag {
    Seconds { seconds: u64 },
    Unknown { reason: String },
}

impl ReplicaLag {
    fn unknown(reason: impl Into<String>) -> Self {
        ReplicaLag::Unknown {
            reason: reason.into(),
        }
    }
}

/// The replica's lag by its own status (the rule this module exists for).
pub fn replica_lag(view: &MysqlServerView) -> ReplicaLag {
    let Some(r) = &view.replica else {
        return ReplicaLag::unknown("not a replica: no replication configured");
    };
    let bounded = |s: &str| crate::text::inert(s, 160);
    match r.io_thread {
        ThreadState::Yes => {}
        ThreadState::Connecting => {
            return ReplicaLag::unknown(format!(
                "its I/O thread is still connecting to {}{}",
                bounded(&r.source),
                error_suffix(&r.last_io_error)
            ));
        }
        ThreadState::No => {
            return ReplicaLag::unknown(format!(
                "its I/O thread is stopped{}",
                error_suffix(&r.last_io_error)
            ));
        }
    }
    if !r.sql_running {
        return ReplicaLag::unknown(format!(
            "its SQL thread is stopped{}",
            error_suffix(&r.last_sql_error)
        ));
    }
    if r.read_position.file.is_empty() {
        return ReplicaLag::unknown("it has read no position of its source's binary log");
    }
    match r.seconds_behind {
        Some(seconds) => ReplicaLag::Seconds { seconds },
        None => ReplicaLag::unknown("the server gives no Seconds_Behind_Master"),
    }
}

fn error_suffix(error: &str) -> String {
    if error.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", crate::text::inert(error, 200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicating() -> MysqlServerView {
        MysqlServerView {
            version: "10.11.19-MariaDB-0+deb12u1-log".into(),
            read_only: true,
            gtid_position: "0-1-5".into(),
            replica: Some(ReplicaStatus {
                source: "127.0.0.1:3306".into(),
                io_thread: ThreadState::Yes,
                sql_running: true,
                seconds_behind: Some(0),
                read_position: BinlogPosition {
                    file: "binlog.000001".into(),
                    position: 1133,
                },
                applied_position: BinlogPosition {
                    file: "binlog.000001".into(),
                    position: 1133,
                },
                last_io_error: String::new(),
                last_sql_error: String::new(),
            }),
        }
    }

    #[test]
    fn a_replica_that_replicates_has_the_lag_it_gives() {
        assert_eq!(
            replica_lag(&replicating()),
            ReplicaLag::Seconds { seconds: 0 }
        );
        let mut v = replicating();
        if let Some(r) = v.replica.as_mut() {
            r.seconds_behind = Some(42);
        }
        assert_eq!(replica_lag(&v), ReplicaLag::Seconds { seconds: 42 });
    }

    /// Issue 23: "a replica that is not replicating (threads stopped, unknown position) is
    /// lag unknown, never lag 0" — even where the server's last number was 0.
    #[test]
    fn a_replica_that_does_not_replicate_is_lag_unknown_never_lag_zero() {
        type Change = Box<dyn Fn(&mut ReplicaStatus)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "I/O thread is stopped: error reconnecting",
                Box::new(|r| {
                    r.io_thread = ThreadState::No;
                    r.last_io_error = "error reconnecting".into();
                }),
            ),
            (
                "still connecting",
                Box::new(|r| r.io_thread = ThreadState::Connecting),
            ),
            (
                "SQL thread is stopped: Duplicate entry",
                Box::new(|r| {
                    r.sql_running = false;
                    r.last_sql_error = "Duplicate entry '1'".into();
                }),
            ),
            (
                "no position",
                Box::new(|r| r.read_position = BinlogPosition::default()),
            ),
            (
                "no Seconds_Behind_Master",
                Box::new(|r| r.seconds_behind = None),
            ),
        ];
        for (said, change) in cases {
            let mut v = replicating();
            if let Some(r) = v.replica.as_mut() {
                change(r);
            }
            match replica_lag(&v) {
                ReplicaLag::Unknown { reason } => assert!(reason.contains(said), "{reason}"),
                known => panic!("{said}: {known:?}"),
            }
        }
        let not_a_replica = MysqlServerView {
            replica: None,
            ..replicating()
        };
        assert!(matches!(
            replica_lag(&not_a_replica),
            ReplicaLag::Unknown { .. }
        ));
    }

    #[test]
    fn a_servers_error_text_is_bounded_and_inert_in_the_reason() {
        let mut v = replicating();
        if let Some(r) = v.replica.as_mut() {
            r.io_thread = ThreadState::No;
            r.last_io_error = format!("\u{1b}[31m{}", "x".repeat(5000));
        }
        let ReplicaLag::Unknown { reason } = replica_lag(&v) else {
            panic!("unknown")
        };
        assert!(!reason.contains('\u{1b}') && reason.len() < 400, "{reason}");
    }
}
