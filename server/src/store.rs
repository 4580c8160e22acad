//! Where conversations live between turns: in this process (`memory`), or
//! in Redis so that several replicas share them.
//!
//! Every update is compare-and-set on the record's version: a replica
//! loads the record, evaluates, and writes back only if nobody wrote in
//! between; otherwise it loads again and re-evaluates (see
//! `App::update`). So two turns of one conversation, on one replica or on
//! two, are applied one after the other and never lost.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use escalate::{ConversationState, Turn};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One conversation as stored.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// The version read; a write succeeds only if it is still the stored
    /// one, and stores `version + 1`. 0: not stored yet.
    pub version: u64,
    pub state: ConversationState,
    /// Its last turns, user and bot, oldest first (the policy's
    /// `transcript_turns`), for `handoff.initiate`; kept as JSON, a third
    /// of the memory of a `Turn`, and read back only on a handoff.
    pub transcript: VecDeque<Arc<KeptTurn>>,
    /// The last decision's JSON, as answered (with its `decision_id`).
    pub last: Option<Arc<str>>,
    /// The `id` of the turn that made `last`, so a retried turn is answered
    /// the same decision rather than counted twice.
    pub last_turn_id: Option<String>,
}

/// A turn of the kept transcript: its `id` (to recognize a turn sent
/// again) and its JSON.
#[derive(Debug)]
pub struct KeptTurn {
    pub id: Option<Box<str>>,
    pub json: Box<RawValue>,
}

impl KeptTurn {
    pub fn new(turn: &Turn) -> KeptTurn {
        KeptTurn {
            id: turn.id.as_deref().map(Box::from),
            json: serde_json::value::to_raw_value(turn).expect("a turn always serializes"),
        }
    }

    /// The turn again; `None` only if the store held something else.
    pub fn turn(&self) -> Option<Turn> {
        Turn::from_json(self.json.get().as_bytes()).ok()
    }
}

impl Record {
    /// The kept transcript as turns, for `handoff.initiate`.
    pub fn transcript_turns(&self) -> Vec<Turn> {
        self.transcript.iter().filter_map(|t| t.turn()).collect()
    }

    /// Adds a turn to the kept transcript, forgetting the oldest beyond `keep`.
    pub fn keep_turn(&mut self, turn: Arc<KeptTurn>, keep: usize) {
        if keep == 0 {
            self.transcript.clear();
            return;
        }
        while self.transcript.len() >= keep {
            self.transcript.pop_front();
        }
        self.transcript.push_back(turn);
    }

    /// The record as stored in Redis: `{"state", "transcript",
    /// "transcript_ids", "last", "last_turn_id"}`. Its parts are JSON this
    /// process wrote, so they are put together as they are, not read again.
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(br#"{"state":"#);
        serde_json::to_writer(&mut out, &self.state).expect("a state always serializes");
        out.extend_from_slice(br#","transcript":["#);
        for (i, turn) in self.transcript.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(turn.json.get().as_bytes());
        }
        out.push(b']');
        if self.transcript.iter().any(|t| t.id.is_some()) {
            let ids: Vec<Option<&str>> = self.transcript.iter().map(|t| t.id.as_deref()).collect();
            out.extend_from_slice(br#","transcript_ids":"#);
            serde_json::to_writer(&mut out, &ids).expect("ids serialize");
        }
        if let Some(last) = &self.last {
            out.extend_from_slice(br#","last":"#);
            out.extend_from_slice(last.as_bytes());
        }
        if let Some(id) = &self.last_turn_id {
            out.extend_from_slice(br#","last_turn_id":"#);
            serde_json::to_writer(&mut out, id).expect("an id serializes");
        }
        out.push(b'}');
        out
    }

    fn from_json(version: u64, json: &[u8]) -> Result<Record, StoreError> {
        #[derive(Deserialize)]
        struct In<'a> {
            #[serde(borrow)]
            state: &'a RawValue,
            #[serde(default, borrow)]
            transcript: Vec<&'a RawValue>,
            #[serde(default)]
            transcript_ids: Vec<Option<Box<str>>>,
            #[serde(default, borrow)]
            last: Option<&'a RawValue>,
            #[serde(default)]
            last_turn_id: Option<String>,
        }
        let record: In<'_> = serde_json::from_slice(json)
            .map_err(|e| StoreError::Corrupt(format!("the stored record is not readable: {e}")))?;
        let state = ConversationState::from_json(record.state.get().as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Record {
            version,
            state,
            transcript: record
                .transcript
                .iter()
                .enumerate()
                .map(|(i, json)| {
                    Arc::new(KeptTurn {
                        id: record.transcript_ids.get(i).cloned().flatten(),
                        json: (*json).to_owned(),
                    })
                })
                .collect(),
            last: record.last.map(|l| Arc::from(l.get())),
            last_turn_id: record.last_turn_id,
        })
    }
}

#[derive(Debug)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    Unavailable(String),
    /// The stored record cannot be read (written by something else, or
    /// by a newer release).
    Corrupt(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(e) | StoreError::Corrupt(e) => f.write_str(e),
        }
    }
}

pub enum Store {
    Memory(MemoryStore),
    Redis(Box<RedisStore>),
}

impl Store {
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    pub async fn load(&self, id: &str) -> Result<Option<Record>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.load(id)),
            Store::Redis(store) => store.load(id).await,
        }
    }

    /// Forgets a conversation; whether it was stored.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.delete(id)),
            Store::Redis(store) => store.delete(id).await,
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(store) => store.ping().await,
        }
    }

    /// Conversations held and evicted, for a memory store.
    pub fn memory_figures(&self) -> Option<(usize, u64)> {
        match self {
            Store::Memory(store) => Some((store.len(), store.evicted.load(Ordering::Relaxed))),
            Store::Redis(_) => None,
        }
    }
}

/// Conversations in this process: at most `capacity`, the least recently
/// used evicted first, and each forgotten `ttl` after its last write (a
/// `ttl` of zero: kept until evicted, as Redis keeps them until deleted).
///
/// A record is changed in place, under its shard's lock: no copy of the
/// record is made and none is serialized, and two requests for one
/// conversation are applied one after the other, never both from the same
/// version.
pub struct MemoryStore {
    shards: Vec<Mutex<lru::LruCache<Box<str>, Entry>>>,
    hasher: RandomState,
    ttl: Duration,
    pub evicted: AtomicU64,
}

struct Entry {
    record: Record,
    expires: Instant,
}

const SHARDS: usize = 64;

impl MemoryStore {
    pub fn new(capacity: usize, ttl: Duration) -> MemoryStore {
        let per_shard = NonZeroUsize::new(capacity.div_ceil(SHARDS).max(1)).expect("at least 1");
        MemoryStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(lru::LruCache::new(per_shard)))
                .collect(),
            hasher: RandomState::new(),
            ttl: if ttl.is_zero() {
                Duration::from_secs(100 * 365 * 86_400)
            } else {
                ttl
            },
            evicted: AtomicU64::new(0),
        }
    }

    fn shard(&self, id: &str) -> std::sync::MutexGuard<'_, lru::LruCache<Box<str>, Entry>> {
        let index = self.hasher.hash_one(id) as usize % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the stored record (for `GET`).
    fn load(&self, id: &str) -> Option<Record> {
        let mut shard = self.shard(id);
        let entry = shard.get(id)?;
        if entry.expires <= Instant::now() {
            shard.pop(id);
            return None;
        }
        Some(entry.record.clone())
    }

    /// Runs `change` on the conversation's record (a new one if none is
    /// stored or it expired) and stores it with the next version, unless
    /// `change` answers without changing it.
    pub fn update<T, E>(
        &self,
        id: &str,
        change: &mut impl Change<Out = T, Error = E>,
    ) -> Result<T, E> {
        let now = Instant::now();
        let mut shard = self.shard(id);
        if let Some(entry) = shard.get_mut(id) {
            if entry.expires <= now {
                entry.record = Record::default();
            }
            if let Some(out) = change.check(&entry.record)? {
                return Ok(out);
            }
            let out = change.apply(&mut entry.record);
            entry.record.version += 1;
            entry.expires = now + self.ttl;
            return Ok(out);
        }
        let mut record = Record::default();
        if let Some(out) = change.check(&record)? {
            return Ok(out);
        }
        let out = change.apply(&mut record);
        record.version = 1;
        let entry = Entry {
            record,
            expires: now + self.ttl,
        };
        if shard.push(id.into(), entry).is_some() {
            // `push` gives back an entry only when it evicted one: the
            // id was not stored (else `get_mut` found it).
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(out)
    }

    /// Keeps `record` as it is (a cache of what Redis holds).
    fn put(&self, id: &str, record: Record) {
        let entry = Entry {
            record,
            expires: Instant::now() + self.ttl,
        };
        self.shard(id).push(id.into(), entry);
    }

    fn delete(&self, id: &str) -> bool {
        self.shard(id).pop(id).is_some()
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum()
    }
}

/// What a request does to a stored conversation, in two steps: `check`
/// reads the record and may answer without writing (a turn sent again);
/// otherwise `apply` changes it, and the change is stored. With Redis,
/// both may run again on a fresher record when another request wrote it
/// in between.
pub trait Change {
    type Out;
    type Error;
    fn check(&mut self, record: &Record) -> Result<Option<Self::Out>, Self::Error>;
    fn apply(&mut self, record: &mut Record) -> Self::Out;
}

/// Conversations in Redis: a hash per conversation, `ver` and `data` (the
/// record's JSON), under `escalate:conversation:{id}`, expiring `ttl` after
/// the last write. Writes are a Lua script that compares `ver` first and,
/// when it differs, answers the stored record instead.
///
/// The records this replica wrote last are also kept in `cache`: a turn
/// is evaluated on its cached record and written in one round trip; if
/// another replica wrote in between, the write is refused with the fresh
/// record, and the turn is evaluated again on it. So a cached record is
/// never trusted, only tried.
pub struct RedisStore {
    client: redis::Client,
    connection: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    cas: redis::Script,
    ttl: Duration,
    timeout: Duration,
    cache: Option<MemoryStore>,
}

const KEY_PREFIX: &str = "escalate:conversation:";

const CAS_SCRIPT: &str = r"
local stored = redis.call('HGET', KEYS[1], 'ver')
if stored == false then stored = '0' end
if stored ~= ARGV[1] then return redis.call('HMGET', KEYS[1], 'ver', 'data') end
redis.call('HSET', KEYS[1], 'ver', ARGV[2], 'data', ARGV[3])
if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
";

/// The outcome of a compare-and-set write.
pub enum Saved {
    Written,
    /// Someone else wrote first: the record stored now (`None`: none is).
    Lost(Option<Box<Record>>),
}

impl RedisStore {
    /// `cache`: how many records to keep in this process (0: none).
    pub fn new(
        url: &str,
        ttl: Duration,
        timeout: Duration,
        cache: usize,
    ) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("bad Redis URL `{url}`: {e}"))?;
        Ok(RedisStore {
            client,
            connection: tokio::sync::OnceCell::new(),
            cas: redis::Script::new(CAS_SCRIPT),
            ttl,
            timeout,
            cache: (cache > 0).then(|| MemoryStore::new(cache, ttl)),
        })
    }

    /// The shared, multiplexed connection, made on first use (and again
    /// after a failed attempt); it reconnects by itself once made.
    async fn connection(&self) -> Result<redis::aio::ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout)
                    .set_number_of_retries(1)
                    .set_max_delay(200);
                tokio::time::timeout(
                    self.timeout * 2,
                    redis::aio::ConnectionManager::new_with_config(self.client.clone(), config),
                )
                .await
                .map_err(|_| StoreError::Unavailable("connecting to Redis timed out".into()))?
                .map_err(unavailable)
            })
            .await
            .cloned()
    }

    /// The record this replica wrote last, if it still has it: a guess at
    /// the stored one, to be checked by `save`.
    pub fn cached(&self, id: &str) -> Option<Record> {
        self.cache.as_ref()?.load(id)
    }

    pub async fn load(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let mut connection = self.connection().await?;
        let (version, data): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(format!("{KEY_PREFIX}{id}"))
            .arg("ver")
            .arg("data")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        stored(version, data)
    }

    /// Writes `record` as version `record.version + 1` if the stored
    /// version is still `record.version`.
    pub async fn save(&self, id: &str, mut record: Record) -> Result<Saved, StoreError> {
        let mut connection = self.connection().await?;
        let answer: redis::Value = self
            .cas
            .key(format!("{KEY_PREFIX}{id}"))
            .arg(record.version)
            .arg(record.version + 1)
            .arg(record.to_json())
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        if let redis::Value::Int(1) = answer {
            if let Some(cache) = &self.cache {
                record.version += 1;
                cache.put(id, record);
            }
            return Ok(Saved::Written);
        }
        let (version, data): (Option<u64>, Option<Vec<u8>>) =
            redis::from_redis_value(&answer).map_err(unavailable)?;
        Ok(Saved::Lost(stored(version, data)?.map(Box::new)))
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        if let Some(cache) = &self.cache {
            cache.delete(id);
        }
        let deleted: i64 = redis::cmd("DEL")
            .arg(format!("{KEY_PREFIX}{id}"))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// A record as `HMGET ver data` gives it.
fn stored(version: Option<u64>, data: Option<Vec<u8>>) -> Result<Option<Record>, StoreError> {
    match (version, data) {
        (Some(version), Some(data)) => Record::from_json(version, &data).map(Some),
        _ => Ok(None),
    }
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("Redis: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends a mark to `last_turn_id`; answers without writing when
    /// `answer` is set.
    struct Mark {
        answer: bool,
    }

    impl Change for Mark {
        type Out = u64;
        type Error = ();
        fn check(&mut self, record: &Record) -> Result<Option<u64>, ()> {
            Ok(self.answer.then_some(record.version))
        }
        fn apply(&mut self, record: &mut Record) -> u64 {
            record.last_turn_id.get_or_insert_default().push('x');
            record.version
        }
    }

    fn write() -> Mark {
        Mark { answer: false }
    }

    #[test]
    fn memory_store_versions_every_write_and_evicts() {
        let store = MemoryStore::new(SHARDS, Duration::from_secs(60));
        assert_eq!(store.update("a", &mut write()), Ok(0));
        assert_eq!(store.update("a", &mut write()), Ok(1));
        let record = store.load("a").unwrap();
        assert_eq!(
            (record.version, record.last_turn_id.as_deref()),
            (2, Some("xx"))
        );
        // An answer without a write changes nothing, and stores nothing new.
        assert_eq!(store.update("a", &mut Mark { answer: true }), Ok(2));
        assert_eq!(store.load("a").unwrap().version, 2);
        assert_eq!(store.update("new", &mut Mark { answer: true }), Ok(0));
        assert!(store.load("new").is_none());
        // Writers at once on one conversation: none is lost.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..500 {
                        store.update("a", &mut write()).unwrap();
                    }
                });
            }
        });
        let record = store.load("a").unwrap();
        assert_eq!(record.version, 2002);
        assert_eq!(record.last_turn_id.map(|m| m.len()), Some(2002));
        for i in 0..SHARDS * 4 {
            store.update(&format!("c{i}"), &mut write()).unwrap();
        }
        assert!(store.len() <= SHARDS);
        assert!(store.evicted.load(Ordering::Relaxed) > 0);
        assert!(store.delete("c0") || store.load("c0").is_none());
    }

    #[test]
    fn memory_store_forgets_after_ttl() {
        let store = MemoryStore::new(10, Duration::from_millis(1));
        store.update("a", &mut write()).unwrap();
        store.update("a", &mut write()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(store.load("a").is_none());
        store.update("b", &mut write()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        // An expired record counts as absent: the next write starts afresh.
        assert_eq!(store.update("b", &mut write()), Ok(0));
        let forever = MemoryStore::new(10, Duration::ZERO);
        forever.update("a", &mut write()).unwrap();
        assert!(forever.load("a").is_some());
    }

    #[test]
    fn records_round_trip_as_json() {
        let mut record = Record::default();
        let with_id = Turn {
            id: Some("m-3".into()),
            ..Turn::user("third")
        };
        for turn in [Turn::user("hello"), Turn::user("again"), with_id] {
            record.keep_turn(Arc::new(KeptTurn::new(&turn)), 2);
        }
        record.last = Some(Arc::from(r#"{"action":"none","decision_id":"d-1"}"#));
        let json = record.to_json();
        let back = Record::from_json(7, &json).unwrap();
        assert_eq!(back.version, 7);
        let turns = back.transcript_turns();
        let texts: Vec<&str> = turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["again", "third"]);
        let ids: Vec<Option<&str>> = back.transcript.iter().map(|t| t.id.as_deref()).collect();
        assert_eq!(ids, [None, Some("m-3")]);
        assert_eq!(back.last.as_deref(), record.last.as_deref());
        assert!(matches!(
            Record::from_json(1, br#"{"state": {"v": 99, "turns": 1}}"#),
            Err(StoreError::Corrupt(message)) if message.contains("newer release")
        ));
    }
}
