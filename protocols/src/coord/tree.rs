//! The coordination tree: the state machine the coordination service
//! replicates on Raft.
//!
//! Nodes are named by absolute paths ("/lock-0/n-0000000003"). A node is
//! persistent or ephemeral (owned by a session, deleted when the session
//! ends); a sequential create appends the parent's next sequence number to
//! the name. Every applied write takes the next zxid: the global order of
//! writes, which a lock holder offers the resource it guards as its fencing
//! token (a later lock grant was created by a later write).
//!
//! Watches are one-shot: `exists` (or `get`) with a watch fires when the
//! node is created, deleted or its data set (`set_data`, with a version
//! check as ZooKeeper's setData), `children` with a watch when a child is
//! created or deleted; the notice says which event fired it. They live in the replicated state, so a new leader knows them;
//! a fired watch is handed to Raft as a notice, which only the leader sends.
//!
//! Sessions: `OpenSession` makes the requesting client session live; the
//! service alone ends it with `ExpireSession` (see `server.rs`: the leader
//! decides, the log makes every replica agree), or the client with
//! `CloseSession`. A request of a session that is not live is refused with
//! `SessionExpired` and changes nothing: that is how a client learns it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::{CoordOp, CoordReply, WatchEvent, ZkError, SERVICE_SESSION};
use crate::raft::StateMachine;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Znode {
    pub data: u64,
    /// Bumped by every change of its data (0 when created).
    pub version: u64,
    /// The zxid of the write that created it.
    pub czxid: u64,
    /// The session owning an ephemeral node.
    pub owner: Option<u64>,
    /// The next sequence number for a sequential child.
    pub next_seq: u64,
}

/// Verification ghost: a session the service expired, and the lock holds it
/// ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Expiry {
    pub session: u64,
    /// Its client's history process.
    pub process: u64,
    /// The creation zxids of the ephemeral nodes that went with it: the
    /// fencing tokens of the holds it ended (a client's later session holds
    /// under other tokens, which the expiry leaves alone).
    pub tokens: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoordTree {
    /// Every node but the root, by path.
    pub nodes: BTreeMap<String, Znode>,
    /// The root's sequence counter (children of "/").
    root_seq: u64,
    /// Live sessions → the client node and its history process.
    pub sessions: BTreeMap<u64, (NodeId, u64)>,
    /// The zxid of the last applied write.
    pub zxid: u64,
    /// Path → sessions watching it for existence changes, and the client to tell.
    exists_watches: BTreeMap<String, BTreeMap<u64, NodeId>>,
    /// Path → sessions watching its children.
    child_watches: BTreeMap<String, BTreeMap<u64, NodeId>>,
    /// Request dedup: session → (highest seq applied, its reply).
    replies: BTreeMap<u64, (u64, CoordReply)>,
    /// Verification ghost: the most watch notifications one deleted node
    /// caused (the herd check reads it; no decision does).
    pub max_notices_per_delete: u64,
    /// Verification ghost: every session the service expired, in log order
    /// (the lock check ends the holds it took with it).
    pub expired: Vec<Expiry>,
    #[serde(skip)]
    notices: Vec<(NodeId, CoordReply)>,
}

/// The parent of an absolute path ("/" for a top-level node).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a path.
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/') && path.len() > 1 && !path.ends_with('/') && !path.contains("//")
}

impl CoordTree {
    pub fn exists(&self, path: &str) -> bool {
        path == "/" || self.nodes.contains_key(path)
    }

    /// Children names of `path`, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| !p[prefix.len()..].contains('/'))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .collect()
    }

    pub fn session_live(&self, session: u64) -> bool {
        self.sessions.contains_key(&session)
    }

    /// Fires (and clears) the watches of `table` on `path` for `event`;
    /// returns how many.
    fn fire(
        table: &mut BTreeMap<String, BTreeMap<u64, NodeId>>,
        notices: &mut Vec<(NodeId, CoordReply)>,
        path: &str,
        event: WatchEvent,
    ) -> u64 {
        let Some(watchers) = table.remove(path) else {
            return 0;
        };
        let n = watchers.len() as u64;
        for (_, client) in watchers {
            notices.push((
                client,
                CoordReply::WatchFired {
                    path: path.to_string(),
                    event,
                },
            ));
        }
        n
    }

    fn next_zxid(&mut self) -> u64 {
        self.zxid += 1;
        self.zxid
    }

    fn create(
        &mut self,
        session: u64,
        path: &str,
        data: u64,
        ephemeral: bool,
        sequential: bool,
    ) -> CoordReply {
        let parent_path = parent(path).to_string();
        let mut path = path.to_string();
        if !valid_path(&path) {
            return CoordReply::Error(ZkError::BadPath);
        }
        if !self.exists(&parent_path) {
            return CoordReply::Error(ZkError::NoNode);
        }
        if self
            .nodes
            .get(&parent_path)
            .is_some_and(|p| p.owner.is_some())
        {
            return CoordReply::Error(ZkError::NoChildrenForEphemerals);
        }
        if sequential {
            let counter = match self.nodes.get_mut(&parent_path) {
                Some(p) => &mut p.next_seq,
                None => &mut self.root_seq,
            };
            path = format!("{path}{:010}", *counter);
            *counter += 1;
        }
        if self.nodes.contains_key(&path) {
            return CoordReply::Error(ZkError::NodeExists);
        }
        let zxid = self.next_zxid();
        self.nodes.insert(
            path.clone(),
            Znode {
                data,
                version: 0,
                czxid: zxid,
                owner: ephemeral.then_some(session),
                next_seq: 0,
            },
        );
        let notices = &mut self.notices;
        Self::fire(
            &mut self.exists_watches,
            notices,
            &path,
            WatchEvent::Created,
        );
        Self::fire(
            &mut self.child_watches,
            notices,
            &parent_path,
            WatchEvent::ChildrenChanged,
        );
        CoordReply::Created { path, zxid }
    }

    /// Removes a node (which must exist and have no children) and fires its
    /// watches; counts the notices for the herd check.
    fn remove(&mut self, path: &str) {
        self.nodes.remove(path);
        let notices = &mut self.notices;
        let mut fired = Self::fire(&mut self.exists_watches, notices, path, WatchEvent::Deleted);
        fired += Self::fire(&mut self.child_watches, notices, path, WatchEvent::Deleted);
        fired += Self::fire(
            &mut self.child_watches,
            notices,
            parent(path),
            WatchEvent::ChildrenChanged,
        );
        self.max_notices_per_delete = self.max_notices_per_delete.max(fired);
    }

    fn delete(&mut self, path: &str, version: Option<u64>) -> CoordReply {
        let Some(node) = self.nodes.get(path) else {
            return CoordReply::Error(ZkError::NoNode);
        };
        if version.is_some_and(|v| v != node.version) {
            return CoordReply::Error(ZkError::BadVersion);
        }
        if !self.children(path).is_empty() {
            return CoordReply::Error(ZkError::NotEmpty);
        }
        self.next_zxid();
        self.remove(path);
        CoordReply::Deleted
    }

    /// Replaces the data of `path` if its version is `version` (any if
    /// `None`); the data watches on it fire.
    fn set_data(&mut self, path: &str, data: u64, version: Option<u64>) -> CoordReply {
        let Some(node) = self.nodes.get(path) else {
            return CoordReply::Error(ZkError::NoNode);
        };
        if version.is_some_and(|v| v != node.version) {
            return CoordReply::Error(ZkError::BadVersion);
        }
        let zxid = self.next_zxid();
        let node = self.nodes.get_mut(path).expect("checked above");
        node.data = data;
        node.version += 1;
        let version = node.version;
        Self::fire(
            &mut self.exists_watches,
            &mut self.notices,
            path,
            WatchEvent::DataChanged,
        );
        CoordReply::DataSet { version, zxid }
    }

    /// Ends `session`: its ephemeral nodes are deleted (one write), its
    /// watches dropped.
    /// Ends `session` if live: deletes its ephemeral nodes and forgets its
    /// watches. Returns its client's history process and the creation zxids
    /// of the nodes deleted.
    fn end_session(&mut self, session: u64) -> Option<(u64, Vec<u64>)> {
        let (_, process) = self.sessions.remove(&session)?;
        self.next_zxid();
        let owned: Vec<(String, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.owner == Some(session))
            .map(|(p, n)| (p.clone(), n.czxid))
            .collect();
        let mut tokens = Vec::with_capacity(owned.len());
        for (path, czxid) in owned {
            self.remove(&path);
            tokens.push(czxid);
        }
        for table in [&mut self.exists_watches, &mut self.child_watches] {
            for watchers in table.values_mut() {
                watchers.remove(&session);
            }
            table.retain(|_, w| !w.is_empty());
        }
        self.replies.remove(&session);
        Some((process, tokens))
    }

    fn watch(&mut self, exists: bool, path: &str, session: u64, client: NodeId) {
        let table = if exists {
            &mut self.exists_watches
        } else {
            &mut self.child_watches
        };
        table
            .entry(path.to_string())
            .or_default()
            .insert(session, client);
    }

    fn execute(&mut self, client: NodeId, session: u64, op: &CoordOp) -> CoordReply {
        match op {
            CoordOp::OpenSession { process } => {
                if self.sessions.contains_key(&session) {
                    return CoordReply::SessionOpened;
                }
                self.next_zxid();
                self.sessions.insert(session, (client, *process));
                return CoordReply::SessionOpened;
            }
            CoordOp::ExpireSession { session } => {
                if let Some((process, tokens)) = self.end_session(*session) {
                    self.expired.push(Expiry {
                        session: *session,
                        process,
                        tokens,
                    });
                }
                return CoordReply::Internal;
            }
            _ => {}
        }
        if !self.session_live(session) {
            return CoordReply::SessionExpired;
        }
        match op {
            CoordOp::CloseSession => {
                self.end_session(session);
                CoordReply::Closed
            }
            CoordOp::Create {
                path,
                data,
                ephemeral,
                sequential,
            } => self.create(session, path, *data, *ephemeral, *sequential),
            CoordOp::Delete { path, version } => self.delete(path, *version),
            CoordOp::SetData {
                path,
                data,
                version,
            } => self.set_data(path, *data, *version),
            CoordOp::Get { path, watch } => {
                let Some(n) = self.nodes.get(path) else {
                    return CoordReply::Error(ZkError::NoNode);
                };
                let reply = CoordReply::Data {
                    data: n.data,
                    version: n.version,
                    czxid: n.czxid,
                };
                if *watch {
                    // A data watch: fires when its data is set or it is deleted.
                    self.watch(true, path, session, client);
                }
                reply
            }
            CoordOp::Exists { path, watch } => {
                let stat = self.nodes.get(path).map(|n| n.czxid);
                if *watch {
                    self.watch(true, path, session, client);
                }
                CoordReply::Stat(stat)
            }
            CoordOp::Children { path, watch } => {
                if !self.exists(path) {
                    return CoordReply::Error(ZkError::NoNode);
                }
                if *watch {
                    self.watch(false, path, session, client);
                }
                CoordReply::Children(self.children(path))
            }
            // Not the tree's to answer: a ping is the leader's (server.rs),
            // a guarded write the resource's.
            CoordOp::Ping { .. } | CoordOp::GuardedWrite { .. } => {
                CoordReply::Error(ZkError::Unsupported)
            }
            CoordOp::OpenSession { .. } | CoordOp::ExpireSession { .. } => {
                unreachable!("handled above")
            }
        }
    }
}

impl StateMachine for CoordTree {
    type Op = CoordOp;
    type Output = CoordReply;

    fn apply(
        &mut self,
        client: NodeId,
        session: u64,
        seq: u64,
        op: &CoordOp,
        dedup: bool,
    ) -> CoordReply {
        // The service's own commands are idempotent and not deduplicated.
        if session == SERVICE_SESSION {
            return self.execute(client, session, op);
        }
        if dedup {
            if let Some(cached) = self.cached(session, seq) {
                return cached;
            }
        }
        let reply = self.execute(client, session, op);
        if self.session_live(session) {
            self.replies.insert(session, (seq, reply.clone()));
        }
        reply
    }

    fn cached(&self, session: u64, seq: u64) -> Option<CoordReply> {
        match self.replies.get(&session) {
            Some((last, reply)) if *last == seq => Some(reply.clone()),
            Some((last, _)) if *last > seq => Some(CoordReply::Stale),
            _ => None,
        }
    }

    fn answers(output: &CoordReply) -> bool {
        !matches!(output, CoordReply::Stale | CoordReply::Internal)
    }

    fn op_numbers(op: &mut CoordOp) -> Vec<&mut u64> {
        match op {
            CoordOp::Create { data, .. } => vec![data],
            CoordOp::SetData { data, version, .. } => {
                let mut numbers = vec![data];
                numbers.extend(version.as_mut());
                numbers
            }
            CoordOp::ExpireSession { session } => vec![session],
            CoordOp::Ping { sent, .. } => vec![sent],
            CoordOp::GuardedWrite { token, holder } => vec![token, holder],
            _ => vec![],
        }
    }

    fn take_notices(&mut self) -> Vec<(NodeId, CoordReply)> {
        std::mem::take(&mut self.notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(path: &str, ephemeral: bool, sequential: bool) -> CoordOp {
        CoordOp::Create {
            path: path.into(),
            data: 0,
            ephemeral,
            sequential,
        }
    }

    /// Applies `op` for `session` (client node = session) with a fresh seq.
    fn run(t: &mut CoordTree, session: u64, op: CoordOp) -> CoordReply {
        let seq = t.replies.get(&session).map_or(1, |(s, _)| s + 1);
        t.apply(session as NodeId, session, seq, &op, true)
    }

    fn open(t: &mut CoordTree, session: u64) {
        assert_eq!(
            run(
                t,
                session,
                CoordOp::OpenSession {
                    process: session + 10
                }
            ),
            CoordReply::SessionOpened
        );
    }

    #[test]
    fn sequential_ephemeral_children_sort_and_vanish_with_their_session() {
        let mut t = CoordTree::default();
        open(&mut t, 1);
        open(&mut t, 2);
        assert!(matches!(
            run(&mut t, 1, create("/l", false, false)),
            CoordReply::Created { .. }
        ));
        let a = run(&mut t, 1, create("/l/n-", true, true));
        let b = run(&mut t, 2, create("/l/n-", true, true));
        let (
            CoordReply::Created { path: pa, zxid: za },
            CoordReply::Created { path: pb, zxid: zb },
        ) = (a, b)
        else {
            panic!("creates failed");
        };
        assert_eq!(
            (pa.as_str(), pb.as_str()),
            ("/l/n-0000000000", "/l/n-0000000001")
        );
        assert!(za < zb, "the later create has the later zxid");
        assert_eq!(t.children("/l"), vec!["n-0000000000", "n-0000000001"]);
        run(&mut t, 0, CoordOp::ExpireSession { session: 1 });
        assert_eq!(t.children("/l"), vec!["n-0000000001"]);
        assert_eq!(
            t.expired,
            vec![Expiry {
                session: 1,
                process: 11,
                tokens: vec![za]
            }],
            "the expiry names the hold it ended by its token"
        );
        assert!(
            t.exists("/l"),
            "a persistent node outlives its creator's session"
        );
        // The expired session learns it on its next request, which changes nothing.
        assert_eq!(
            run(&mut t, 1, create("/l/x", false, false)),
            CoordReply::SessionExpired
        );
        assert!(!t.exists("/l/x"));
    }

    #[test]
    fn delete_checks_version_existence_and_children() {
        let mut t = CoordTree::default();
        open(&mut t, 1);
        run(&mut t, 1, create("/a", false, false));
        run(&mut t, 1, create("/a/b", false, false));
        assert_eq!(
            run(
                &mut t,
                1,
                CoordOp::Delete {
                    path: "/a".into(),
                    version: None
                }
            ),
            CoordReply::Error(ZkError::NotEmpty)
        );
        assert_eq!(
            run(
                &mut t,
                1,
                CoordOp::Delete {
                    path: "/a/b".into(),
                    version: Some(3)
                }
            ),
            CoordReply::Error(ZkError::BadVersion)
        );
        assert_eq!(
            run(
                &mut t,
                1,
                CoordOp::Delete {
                    path: "/a/b".into(),
                    version: Some(0)
                }
            ),
            CoordReply::Deleted
        );
        assert_eq!(
            run(
                &mut t,
                1,
                CoordOp::Delete {
                    path: "/a/b".into(),
                    version: None
                }
            ),
            CoordReply::Error(ZkError::NoNode)
        );
        assert_eq!(
            run(&mut t, 1, create("/missing/x", false, false)),
            CoordReply::Error(ZkError::NoNode)
        );
    }

    #[test]
    fn watches_fire_once_to_their_watcher_and_count_per_delete() {
        let mut t = CoordTree::default();
        for s in 1..=3 {
            open(&mut t, s);
        }
        run(&mut t, 1, create("/n", true, false));
        let exists = CoordOp::Exists {
            path: "/n".into(),
            watch: true,
        };
        assert!(matches!(run(&mut t, 2, exists), CoordReply::Stat(Some(_))));
        let get = CoordOp::Get {
            path: "/n".into(),
            watch: true,
        };
        assert!(matches!(
            run(&mut t, 3, get),
            CoordReply::Data { version: 0, .. }
        ));
        assert!(t.take_notices().is_empty());
        run(
            &mut t,
            1,
            CoordOp::Delete {
                path: "/n".into(),
                version: None,
            },
        );
        let notices = t.take_notices();
        let to: Vec<NodeId> = notices.iter().map(|(c, _)| *c).collect();
        assert_eq!(to, vec![2, 3]);
        assert_eq!(t.max_notices_per_delete, 2);
        // One-shot: recreating and deleting again tells nobody.
        run(&mut t, 1, create("/n", true, false));
        run(
            &mut t,
            1,
            CoordOp::Delete {
                path: "/n".into(),
                version: None,
            },
        );
        assert!(t.take_notices().is_empty());
    }

    fn set(path: &str, data: u64, version: Option<u64>) -> CoordOp {
        CoordOp::SetData {
            path: path.into(),
            data,
            version,
        }
    }

    fn get(path: &str, watch: bool) -> CoordOp {
        CoordOp::Get {
            path: path.into(),
            watch,
        }
    }

    #[test]
    fn set_data_checks_the_version_and_bumps_it() {
        let mut t = CoordTree::default();
        open(&mut t, 1);
        open(&mut t, 2);
        run(&mut t, 1, create("/c", false, false));
        let before = t.zxid;
        // Two writers read version 0; the first set wins, the second is
        // refused: a compare-and-set on the version.
        assert_eq!(
            run(&mut t, 1, set("/c", 7, Some(0))),
            CoordReply::DataSet {
                version: 1,
                zxid: before + 1
            }
        );
        assert_eq!(
            run(&mut t, 2, set("/c", 8, Some(0))),
            CoordReply::Error(ZkError::BadVersion)
        );
        assert_eq!(t.zxid, before + 1, "a refused set is no write");
        assert_eq!(
            run(&mut t, 2, get("/c", false)),
            CoordReply::Data {
                data: 7,
                version: 1,
                czxid: before
            }
        );
        // Without a version any set applies.
        assert!(matches!(
            run(&mut t, 2, set("/c", 9, None)),
            CoordReply::DataSet { version: 2, .. }
        ));
        // A delete holding the version read before the sets is refused.
        assert_eq!(
            run(
                &mut t,
                1,
                CoordOp::Delete {
                    path: "/c".into(),
                    version: Some(0)
                }
            ),
            CoordReply::Error(ZkError::BadVersion)
        );
        assert_eq!(
            run(&mut t, 1, set("/missing", 1, None)),
            CoordReply::Error(ZkError::NoNode)
        );
        // An expired session sets nothing.
        run(&mut t, 0, CoordOp::ExpireSession { session: 2 });
        assert_eq!(
            run(&mut t, 2, set("/c", 10, None)),
            CoordReply::SessionExpired
        );
        assert!(matches!(
            run(&mut t, 1, get("/c", false)),
            CoordReply::Data { data: 9, .. }
        ));
    }

    #[test]
    fn a_data_watch_fires_once_on_a_change_of_data_and_says_so() {
        let mut t = CoordTree::default();
        for s in 1..=3 {
            open(&mut t, s);
        }
        run(&mut t, 1, create("/c", false, false));
        run(&mut t, 2, get("/c", true));
        let exists = CoordOp::Exists {
            path: "/c".into(),
            watch: true,
        };
        run(&mut t, 3, exists);
        // A refused set changes nothing and fires nothing.
        run(&mut t, 1, set("/c", 1, Some(5)));
        assert!(t.take_notices().is_empty());
        run(&mut t, 1, set("/c", 1, None));
        let fired = CoordReply::WatchFired {
            path: "/c".into(),
            event: WatchEvent::DataChanged,
        };
        assert_eq!(t.take_notices(), vec![(2, fired.clone()), (3, fired)]);
        // One-shot: the next change tells nobody until a watch is left again.
        run(&mut t, 1, set("/c", 2, None));
        assert!(t.take_notices().is_empty());
        run(&mut t, 2, get("/c", true));
        run(
            &mut t,
            1,
            CoordOp::Delete {
                path: "/c".into(),
                version: Some(2),
            },
        );
        assert_eq!(
            t.take_notices(),
            vec![(
                2,
                CoordReply::WatchFired {
                    path: "/c".into(),
                    event: WatchEvent::Deleted
                }
            )]
        );
        // A set is not a delete: the herd count stays at what deletes woke.
        assert_eq!(t.max_notices_per_delete, 1);
    }

    #[test]
    fn a_retried_request_applies_once() {
        let mut t = CoordTree::default();
        open(&mut t, 1);
        let op = create("/s-", false, true);
        let first = t.apply(1, 1, 5, &op, true);
        assert_eq!(t.apply(1, 1, 5, &op, true), first);
        assert_eq!(t.children("/").len(), 1);
        assert_eq!(t.apply(1, 1, 4, &op, true), CoordReply::Stale);
        // Without dedup the retry creates a second node.
        t.apply(1, 1, 5, &op, false);
        assert_eq!(t.children("/").len(), 2);
    }
}
