//! A replica of the Byzantine quorum register: per key, the newest validly
//! signed value it was asked to store, on disk before it says so.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId, Process};

use super::{Cluster, RegisterMsg, SignedValue};

pub struct Replica {
    cluster: Cluster,
    registers: BTreeMap<u32, SignedValue>,
}

fn storage_key(key: u32) -> String {
    format!("byzreg/{key:010}")
}

impl Replica {
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            registers: BTreeMap::new(),
        }
    }

    /// The stored value of `key`.
    pub fn register(&self, key: u32) -> SignedValue {
        self.registers
            .get(&key)
            .copied()
            .unwrap_or(SignedValue::EMPTY)
    }
}

impl Process for Replica {
    type Msg = RegisterMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        let stored: Vec<(u32, SignedValue)> = ctx
            .storage()
            .scan("byzreg/")
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("byzreg/")?.parse().ok()?;
                Some((key, serde_json::from_slice(v).ok()?))
            })
            .collect();
        self.registers = stored.into_iter().collect();
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        match msg {
            RegisterMsg::Query { req, key } => {
                let value = self.register(key);
                ctx.send(from, RegisterMsg::QueryReply { req, key, value });
            }
            RegisterMsg::Store { req, key, value } => {
                if !self.cluster.valid(key, &value) {
                    // Not acknowledged: the writer waits for honest replicas.
                    ctx.count("byz_register.rejected_store", 1);
                    return;
                }
                if value.ts > self.register(key).ts {
                    tracing::debug!(key, ts = ?value.ts, value = ?value.value, "stored newer value");
                    self.registers.insert(key, value);
                    let bytes = serde_json::to_vec(&value).expect("plain data serializes");
                    ctx.storage().write(storage_key(key), bytes);
                    ctx.storage().sync();
                }
                ctx.send(from, RegisterMsg::StoreAck { req });
            }
            RegisterMsg::QueryReply { .. } | RegisterMsg::StoreAck { .. } => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, RegisterMsg>, _: u64) {}
}
