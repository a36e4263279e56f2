//! The Redis store, for several receiver replicas behind a load balancer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ExistenceCheck, Script, SetExpiry, SetOptions};

use super::{ReplayStore, StoreFuture};

/// How long one store call may take before the delivery is answered 503
/// (or, [failing open](super::ReplayGuardLayer::fail_open), run unchecked):
/// well inside Bedrud's 10-second timeout.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Deletes the key only while it holds this reservation's token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A [`ReplayStore`] in Redis: one `SET key token NX PX ttl` per delivery,
/// released with a compare-and-delete script. Keys are
/// `bedrud-webhook:replay:<tag as hex>`.
///
/// The connection is made on first use and remade after a failure; Redis
/// unreachable or slower than [`CALL_TIMEOUT`] is a store error, so the
/// guard answers 503 (fail closed) unless told to fail open.
///
/// `open` only reads the URL: it works outside a runtime, and while Redis is
/// down (the guard then answers 503 until it is up).
///
/// ```
/// use bedrud_webhook::replay::{ReplayGuardLayer, redis::RedisStore};
/// use bedrud_webhook::{Secret, Verifier};
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
///     let store = RedisStore::open("redis://127.0.0.1:1/")?;
///     let guard = ReplayGuardLayer::new(&verifier).store(store);
///     # drop(guard);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    /// Made on first use, inside the runtime, and remade after a failure.
    connection: Arc<OnceCell<ConnectionManager>>,
    release: Script,
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`, `rediss://` for TLS if
    /// the `redis` crate is built with it). Nothing is sent yet, so this
    /// works while Redis is down, and outside a runtime; only a malformed
    /// URL is an error.
    ///
    /// # Errors
    ///
    /// The URL is not a Redis URL.
    pub fn open(url: &str) -> Result<Self, redis::RedisError> {
        Ok(RedisStore {
            client: redis::Client::open(url)?,
            connection: Arc::default(),
            release: Script::new(RELEASE),
        })
    }

    /// The connection, made on first use.
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200))
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        let lazy = || async { self.client.get_connection_manager_lazy(config) };
        self.connection.get_or_try_init(lazy).await.cloned()
    }
}

fn key(tag: &[u8; 32]) -> String {
    format!("bedrud-webhook:replay:{}", const_hex::encode(tag))
}

/// `call` within [`CALL_TIMEOUT`].
async fn bounded<T>(
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(elapsed) => Err(elapsed.into()),
    }
}

impl ReplayStore for RedisStore {
    fn reserve<'a>(
        &'a self,
        tag: &'a [u8; 32],
        token: u64,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let options = SetOptions::default()
            .conditional_set(ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(ttl));
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let set = connection.set_options::<_, _, Option<String>>(
                key(tag),
                token.to_string(),
                options,
            );
            Ok(bounded(set).await?.is_some())
        })
    }

    fn release<'a>(&'a self, tag: &'a [u8; 32], token: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut call = self.release.key(key(tag));
            let call = call.arg(token.to_string());
            bounded(call.invoke_async::<i64>(&mut connection)).await?;
            Ok(())
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}
