//! Blobs: attachments come back byte for byte, small ones inline and large ones (on SQLite) in
//! pack files; identical content is stored once; large blobs survive a restart and later
//! appends.

use std::sync::Arc;

use anliegen_store::blob::{self, INLINE_MAX};
use anliegen_store::{Command, NewAttachment, Output, Store};

use crate::harness::*;

crate::conformance!(attachments_round_trip_and_dedupe);

fn attachment(name: &str, data: &Arc<Vec<u8>>) -> NewAttachment {
    NewAttachment {
        filename: name.to_owned(),
        content_type: "application/octet-stream".into(),
        content_id: None,
        data: data.clone(),
    }
}

/// Total bytes in the SQLite pack files (0 on PostgreSQL).
fn pack_bytes(env: &Env) -> anyhow::Result<u64> {
    let Some(dir) = env.data_dir() else {
        return Ok(0);
    };
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir.join("blobs")) {
        for e in entries {
            total += e?.metadata()?.len();
        }
    }
    Ok(total)
}

async fn attachments_round_trip_and_dedupe(store: Store, env: Env) -> anyhow::Result<()> {
    let small = Arc::new(bytes(1, 1024));
    let large = Arc::new(bytes(2, 200 * 1024));
    assert!(small.len() <= INLINE_MAX && large.len() > INLINE_MAX);
    let mut nc = new_case(by_email("files@example.com"), "Photos of the damage");
    nc.contact.attachments = vec![
        attachment("note.txt", &small),
        attachment("photo.jpg", &large),
    ];
    let case = open(&store, nc).await?;

    let contact = store
        .contacts(case.id, false)
        .await?
        .pop()
        .expect("contact");
    let refs: Vec<_> = contact
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.size, a.blob.clone()))
        .collect();
    assert_eq!(
        refs,
        [
            ("note.txt", 1024, blob::hash(&small)),
            ("photo.jpg", 200 * 1024, blob::hash(&large))
        ]
    );
    assert_eq!(
        store.blob(&blob::hash(&small)).await?.as_deref(),
        Some(small.as_slice())
    );
    assert_eq!(
        store.blob(&blob::hash(&large)).await?.as_deref(),
        Some(large.as_slice())
    );
    assert_eq!(store.blob(&blob::hash(b"never stored")).await?, None);
    assert_eq!(env.scalar("SELECT COUNT(*) FROM blobs").await?, 2);
    if env.kind == Kind::Sqlite {
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM blobs WHERE data IS NULL AND pack IS NOT NULL")
                .await?,
            1,
            "the large blob is not in a pack"
        );
        assert_eq!(pack_bytes(&env)?, large.len() as u64);
    } else {
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM blobs WHERE data IS NOT NULL")
                .await?,
            2
        );
    }

    // The same content again, on another case and twice within one write: still one blob each.
    let out = store
        .exec(
            system(),
            Command::AddContact {
                case_id: case.id,
                contact: {
                    let mut c = inbound("Here they are again");
                    c.attachments = vec![
                        attachment("again.jpg", &large),
                        attachment("copy.jpg", &large),
                        attachment("n.txt", &small),
                    ];
                    c
                },
                status_after: None,
            },
        )
        .await?;
    let Output::Contact { contact: again, .. } = out else {
        panic!("expected a contact")
    };
    assert!(
        again
            .attachments
            .iter()
            .take(2)
            .all(|a| a.blob == blob::hash(&large))
    );
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM blobs").await?,
        2,
        "identical content was stored twice"
    );
    assert_eq!(
        pack_bytes(&env)?,
        if env.kind == Kind::Sqlite {
            large.len() as u64
        } else {
            0
        },
        "identical content was packed twice"
    );

    // Two new large files in one burst of writes (likely one batch).
    let a = Arc::new(bytes(3, 100 * 1024));
    let b = Arc::new(bytes(4, 300 * 1024));
    let mut tasks = Vec::new();
    for (i, data) in [a.clone(), b.clone(), a.clone()].into_iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut nc = new_case(by_email(&format!("burst{i}@example.com")), "Burst");
            nc.contact.attachments = vec![attachment("x.bin", &data)];
            open(&store, nc).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert_eq!(env.scalar("SELECT COUNT(*) FROM blobs").await?, 4);
    for d in [&small, &large, &a, &b] {
        assert_eq!(
            store.blob(&blob::hash(d)).await?.as_deref(),
            Some(d.as_slice())
        );
    }

    // After a restart every blob is still there, and new packs do not clobber old ones.
    let store = restart(&env, store).await?;
    for d in [&small, &large, &a, &b] {
        assert_eq!(
            store.blob(&blob::hash(d)).await?.as_deref(),
            Some(d.as_slice()),
            "a blob was lost in the restart"
        );
    }
    let c = Arc::new(bytes(5, 150 * 1024));
    let mut nc = new_case(by_email("after@example.com"), "After the restart");
    nc.contact.attachments = vec![attachment("late.bin", &c)];
    open(&store, nc).await?;
    for d in [&small, &large, &a, &b, &c] {
        assert_eq!(
            store.blob(&blob::hash(d)).await?.as_deref(),
            Some(d.as_slice()),
            "a blob broke after a later append"
        );
    }
    Ok(())
}
