//! The per-node logs a run kept (`run --node-logs`: `logs/nN.log`), linked
//! from `report.html` so that a reader goes from a verdict to what each node
//! said at the time.

use std::path::Path;

use serde_json::Value;

use crate::html::{self, escape, Page};

/// One node's log file in the run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeLog {
    pub node: u64,
    /// Relative to the run directory, as the page links it.
    pub href: String,
    pub lines: usize,
}

/// The files `logs/nN.log` in `dir`, in node order (none if there are none).
pub(crate) fn find(dir: &Path) -> Vec<NodeLog> {
    let Ok(entries) = std::fs::read_dir(dir.join("logs")) else {
        return Vec::new();
    };
    let mut logs: Vec<NodeLog> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let node = name.strip_prefix('n')?.strip_suffix(".log")?.parse().ok()?;
            let text = std::fs::read(entry.path()).ok()?;
            Some(NodeLog {
                node,
                href: format!("logs/{name}"),
                lines: text.iter().filter(|&&b| b == b'\n').count(),
            })
        })
        .collect();
    logs.sort_by_key(|l| l.node);
    logs
}

/// A "Node logs" section: one row per node with its role and a link.
pub(crate) fn section(page: &mut Page, logs: &[NodeLog], summary: &Value) {
    if logs.is_empty() {
        return;
    }
    let listed = |role: &str, node: u64| {
        html::lookup(summary, role)
            .and_then(Value::as_array)
            .is_some_and(|nodes| nodes.iter().any(|n| n.as_u64() == Some(node)))
    };
    let rows: Vec<Vec<String>> = logs
        .iter()
        .map(|l| {
            let role = if listed("cluster.replicas", l.node) {
                "replica"
            } else if listed("cluster.clients", l.node) {
                "client"
            } else {
                "—"
            };
            let href = escape(&l.href);
            vec![
                l.node.to_string(),
                role.into(),
                format!("<a href=\"{href}\">{href}</a>"),
                l.lines.to_string(),
            ]
        })
        .collect();
    page.heading("Node logs");
    page.paragraph(
        "What each node logged, one line per event, stamped with the virtual time and node \
         (<code>t=SECONDS n=NODE LEVEL target: message fields</code>).",
    );
    page.table(&["node", "role", "log", "lines"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_node_logs_in_node_order_and_ignores_other_files() {
        let tmp = std::env::temp_dir().join(format!("reports-node-logs-{}", std::process::id()));
        let logs = tmp.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("n10.log"), "a\nb\n").unwrap();
        std::fs::write(logs.join("n2.log"), "a\n").unwrap();
        std::fs::write(logs.join("notes.txt"), "x\n").unwrap();
        let found = find(&tmp);
        std::fs::remove_dir_all(&tmp).unwrap();
        let nodes: Vec<(u64, &str, usize)> = found
            .iter()
            .map(|l| (l.node, l.href.as_str(), l.lines))
            .collect();
        assert_eq!(nodes, [(2, "logs/n2.log", 1), (10, "logs/n10.log", 2)]);
        assert!(find(&tmp).is_empty());
    }

    #[test]
    fn the_section_links_each_log_with_its_role() {
        let summary = serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]}});
        let logs = [0, 2].map(|node| NodeLog {
            node,
            href: format!("logs/n{node}.log"),
            lines: 3,
        });
        let mut page = Page::new("t");
        section(&mut page, &logs, &summary);
        let html = page.finish("t");
        assert!(html.contains("<h2>Node logs</h2>"), "{html}");
        assert!(
            html.contains("<td>0</td><td>replica</td><td><a href=\"logs/n0.log\">"),
            "{html}"
        );
        assert!(html.contains("<td>2</td><td>client</td>"), "{html}");
        let mut empty = Page::new("t");
        section(&mut empty, &[], &summary);
        assert!(!empty.finish("t").contains("Node logs"));
    }
}
