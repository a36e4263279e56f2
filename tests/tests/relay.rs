//! The relay (`bedrud-webhook listen --queue … --forward-to …`) against apps
//! nobody here wrote the verification of: the README's Python and Node apps
//! (PyPI's and npm's `standardwebhooks`, installed by `.ci/test` under
//! `target/test-apps`), and an axum app verifying with the Rust
//! `standardwebhooks` crate that misbehaves on purpose (down, failing,
//! silent, redirecting, answering a huge body, or over TLS with a certificate
//! of its own). Every delivery is sent by the reference sender over real
//! HTTP and kept in a real SQLite or Postgres queue.

// The shared harness (`common`) unwraps outside `#[test]` functions too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp};
use bytes::Bytes;
use standardwebhooks::Webhook;

use common::servers::{Postgres, TempDir, signal, temp_dir};
use common::{Running, SECRET, binaries, blocks, free_port, workspace_root};

/// The app's Standard Webhooks secret (24 bytes, as Svix makes them).
const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Distinct `room.created` deliveries, `n` of them, named after `run`.
fn deliveries(run: &str, n: usize) -> Vec<Delivery> {
    (0..n)
        .map(|i| {
            let event = Event::RoomCreated(RoomData::new(format!("{run}-{i}"), "relay", "u"));
            Delivery::new(&Envelope::new(event, Timestamp::now()))
        })
        .collect()
}

/// The `webhook-id` the relay gives a delivery: `msg_` and its tag in hex.
fn id_of(delivery: &Delivery) -> String {
    let signature = delivery.signature(&Secret::new(SECRET).unwrap());
    format!("msg_{}", signature.trim_start_matches("sha256="))
}

/// `listen` as a relay on `addr`, storing in `queue`, forwarding to `app`
/// signed with [`FORWARD_SECRET`].
fn relay(addr: SocketAddr, queue: &str, app: &str, extra: &[&str]) -> Running {
    let mut command = relay_command(addr, queue, app);
    command
        .args(["--forward-secret", FORWARD_SECRET])
        .args(extra);
    start_relay(command, addr)
}

/// The relay's command line, with no forwarding secret and none of the
/// settings it reads from the environment.
fn relay_command(addr: SocketAddr, queue: &str, app: &str) -> Command {
    let mut command = Command::new(binaries().join("bedrud-webhook"));
    command
        .env_remove("BEDRUD_WEBHOOK_SECRET")
        .env_remove("BEDRUD_WEBHOOK_FORWARD_SECRET")
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .args(["listen", "--addr", &addr.to_string(), "--secret", SECRET])
        .args(["--queue", queue, "--forward-to", app]);
    command
}

fn start_relay(command: Command, addr: SocketAddr) -> Running {
    let mut running = Running::start(command, addr);
    running.wait_listening("the relay", 30);
    running
}

/// Posts every delivery, `concurrency` at a time; the ids answered 2xx.
fn post_all(url: &str, deliveries: &[Delivery], concurrency: usize) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sender = Sender::new().with_timeout(Duration::from_secs(10));
        let secret = Secret::new(SECRET).unwrap();
        let mut accepted = Vec::new();
        for chunk in deliveries.chunks(concurrency) {
            let sends = chunk.iter().map(|d| sender.deliver(url, d, &secret));
            let answers = futures_util::future::join_all(sends).await;
            for (delivery, answer) in chunk.iter().zip(answers) {
                if answer.is_ok_and(|r| r.status().is_success()) {
                    accepted.push(id_of(delivery));
                }
            }
        }
        accepted
    })
}

/// The body of a GET to `url`.
fn get(url: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let request = http::Request::get(url).body(Bytes::new()).unwrap();
    let response = runtime.block_on(Sender::new().send(request)).unwrap();
    String::from_utf8(response.body().to_vec()).unwrap()
}

/// Waits up to `secs` for `done`, then says what was missing.
fn until(secs: u64, what: &str, mut done: impl FnMut() -> bool, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `bedrud-webhook deliveries list --json` of `queue`: each line parsed.
fn stored(queue: &str) -> Vec<serde_json::Value> {
    let output = Command::new(binaries().join("bedrud-webhook"))
        .args(["deliveries", "list", "--json", "--queue", queue])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

// ------------------------------------------------------ the README's apps

/// Where `.ci/test` installs the Python and Node `standardwebhooks`.
fn apps_dir() -> PathBuf {
    binaries().parent().unwrap().join("test-apps")
}

/// Runs the README's app in `lang` on a free port; waits until it listens.
fn readme_app(lang: &str, dir: &Path) -> Running {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let code = blocks(&readme, "Any language: the relay", lang);
    assert_eq!(
        code.len(),
        1,
        "one {lang} app in the README's relay section"
    );
    let apps = apps_dir();
    let (program, file, path_var, path) = match lang {
        "python" => ("python3", "app.py", "PYTHONPATH", apps.join("python")),
        _ => (
            "node",
            "app.js",
            "NODE_PATH",
            apps.join("node/node_modules"),
        ),
    };
    assert!(
        path.join("standardwebhooks").exists(),
        "{lang}'s standardwebhooks is not under {}: .ci/test installs it",
        apps.display()
    );
    std::fs::write(dir.join(file), code[0]).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut command = Command::new(program);
    command
        .arg(dir.join(file))
        .env(path_var, path)
        .env("FORWARD_SECRET", FORWARD_SECRET)
        .env("PORT", addr.port().to_string());
    let mut app = Running::start(command, addr);
    app.wait_listening(lang, 30);
    app
}

fn the_readme_app_gets_each_delivery_once(lang: &str) {
    let dir = temp_dir(&format!("relay-{lang}"));
    let app = readme_app(lang, &dir);
    let queue = dir.join("relay.db");
    let queue = queue.to_str().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let relay = relay(addr, queue, &format!("http://{}/hooks", app.addr), &[]);
    let sent = deliveries(lang, 300);
    let url = format!("http://{addr}/webhooks/bedrud");
    let accepted = post_all(&url, &sent, 8);
    assert_eq!(accepted.len(), 300);
    let handled = || {
        let lines = app.lines();
        lines
            .iter()
            .filter(|l| l.starts_with("msg_")) // not the access log
            .filter_map(|l| l.split_once(' '))
            .map(|(id, event)| (id.to_owned(), event.to_owned()))
            .collect::<Vec<_>>()
    };
    until(
        60,
        "300 deliveries handled",
        || handled().len() >= 300,
        || format!("app:\n{}\nrelay:\n{}", app.log(), relay.log()),
    );
    // Each handled once, each one sent, each a room.created: the app's
    // library verified all of them (it prints nothing for a refusal).
    let handled = handled();
    let ids: HashMap<&str, &str> = handled.iter().map(|(i, e)| (&**i, &**e)).collect();
    assert_eq!((handled.len(), ids.len()), (300, 300), "{handled:?}");
    for id in &accepted {
        assert_eq!(ids.get(&**id), Some(&"room.created"), "{id} not handled");
    }
    // The relay records each as done once the app's answer is in.
    let all_done = || stored(queue).iter().all(|d| d["state"] == "done");
    until(30, "every delivery done", all_done, || relay.log());
}

#[test]
fn pythons_standardwebhooks_verifies_and_handles_each_delivery_once() {
    the_readme_app_gets_each_delivery_once("python");
}

#[test]
fn nodes_standardwebhooks_verifies_and_handles_each_delivery_once() {
    the_readme_app_gets_each_delivery_once("js");
}

// ------------------------------------------- an app that misbehaves on purpose

/// How the test app answers.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// 204 to every verified delivery.
    Fine,
    /// 500 to the first attempt of every third delivery (in order of arrival).
    FailsFirstOfEveryThird,
    /// Never answers.
    Silent,
    /// 302 to another path.
    Redirects,
    /// 200 with a body of 2 MiB.
    Huge,
}

/// What the app saw: the attempts of each `webhook-id`, in order of first
/// arrival, and how many requests failed verification.
#[derive(Debug, Default)]
struct Seen {
    attempts: HashMap<String, u32>,
    order: Vec<String>,
    forged: u32,
    /// Each id's body and `X-Bedrud-Event`, as they came the first time.
    first: HashMap<String, (Bytes, String)>,
}

struct App {
    webhook: Webhook,
    mode: Mode,
    seen: Mutex<Seen>,
}

async fn app_hook(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.webhook.verify(&body, &headers).is_err() {
        app.seen.lock().unwrap().forged += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    let (attempt, index) = {
        let mut seen = app.seen.lock().unwrap();
        let attempt = *seen
            .attempts
            .entry(id.clone())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        if attempt == 1 {
            seen.order.push(id.clone());
            let event = headers
                .get("x-bedrud-event")
                .map(|v| v.to_str().unwrap().to_owned());
            seen.first
                .insert(id.clone(), (body, event.unwrap_or_default()));
        }
        let index = seen.order.iter().position(|i| *i == id).unwrap();
        (attempt, index)
    };
    match app.mode {
        Mode::Fine => StatusCode::NO_CONTENT.into_response(),
        Mode::FailsFirstOfEveryThird if attempt == 1 && index % 3 == 0 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "busy, try later").into_response()
        }
        Mode::FailsFirstOfEveryThird => StatusCode::NO_CONTENT.into_response(),
        Mode::Silent => std::future::pending().await,
        Mode::Redirects => (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response(),
        Mode::Huge => (StatusCode::OK, vec![b'x'; 2 << 20]).into_response(),
    }
}

/// The app, served on its own runtime at `addr` until dropped.
struct TestApp {
    app: Arc<App>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestApp {
    fn start(addr: SocketAddr, mode: Mode) -> TestApp {
        TestApp::serve(addr, mode, FORWARD_SECRET, None)
    }

    /// The app over TLS only, with `cert` as its certificate.
    fn start_tls(
        addr: SocketAddr,
        mode: Mode,
        cert: &rcgen::CertifiedKey<rcgen::KeyPair>,
    ) -> TestApp {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        TestApp::serve(addr, mode, FORWARD_SECRET, Some(Arc::new(config)))
    }

    fn serve(
        addr: SocketAddr,
        mode: Mode,
        secret: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> TestApp {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let app = Arc::new(App {
            webhook: Webhook::new(secret).unwrap(),
            mode,
            seen: Mutex::default(),
        });
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(app_hook))
            .with_state(Arc::clone(&app));
        // The port may still be held by the app this one replaces, for a moment.
        let listener = runtime.block_on(async {
            for _ in 0..50 {
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(listener) => return listener,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            panic!("cannot bind {addr}");
        });
        match tls {
            None => drop(runtime.spawn(async move { axum::serve(listener, router).await })),
            Some(config) => drop(runtime.spawn(serve_tls(listener, router, config))),
        }
        TestApp {
            app,
            runtime: Some(runtime),
        }
    }

    fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.app.seen.lock().unwrap())
    }

    /// Each of `sent` arrived with Bedrud's exact body and its event name.
    fn assert_exact(&self, sent: &[Delivery]) {
        self.seen(|seen| {
            for delivery in sent {
                let (body, event) = &seen.first[&id_of(delivery)];
                assert_eq!(body, delivery.body(), "the body as Bedrud sent it");
                assert_eq!(event, "room.created");
            }
        });
    }
}

/// Serves `router` on each connection whose TLS handshake succeeds.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: Arc<rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A client that refuses the certificate ends the handshake here.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let io = hyper_util::rt::TokioIo::new(tls);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The silent app's requests never end: do not wait for them.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A SQLite queue in a directory of its own.
fn sqlite(name: &str) -> (TempDir, String) {
    let dir = temp_dir(name);
    let queue = dir.join("relay.db").to_str().unwrap().to_owned();
    (dir, queue)
}

#[test]
fn an_app_down_then_failing_loses_nothing_and_the_attempts_are_recorded() {
    let (_dir, queue) = sqlite("relay-down");
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let admin = free_port().to_string();
    let app_url = format!("http://{app_addr}/hooks");
    let extra = ["--backoff", "0.5", "--admin", &admin];
    let relay = relay(addr, &queue, &app_url, &extra);
    let sent = deliveries("down", 30);
    let accepted = post_all(&format!("http://{addr}/webhooks/bedrud"), &sent, 4);
    assert_eq!(accepted.len(), 30);
    // Down for the first 10 s: every attempt meanwhile is refused.
    std::thread::sleep(Duration::from_secs(10));
    let app = TestApp::start(app_addr, Mode::FailsFirstOfEveryThird);
    let arrived = || app.seen(|s| s.order.len());
    until(
        60,
        "30 deliveries at the app",
        || arrived() == 30,
        || relay.log(),
    );
    until(
        60,
        "every delivery done",
        || stored(&queue).iter().all(|d| d["state"] == "done"),
        || relay.log(),
    );
    let (order, attempts, forged) = app.seen(|s| (s.order.clone(), s.attempts.clone(), s.forged));
    assert_eq!(forged, 0);
    app.assert_exact(&sent);
    let mut want: Vec<&String> = accepted.iter().collect();
    let mut got: Vec<&String> = order.iter().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // Every third one was answered 500 once, then taken.
    for (i, id) in order.iter().enumerate() {
        assert_eq!(attempts[id], if i % 3 == 0 { 2 } else { 1 }, "{id}");
    }
    // The queue recorded the attempts: each at least 2 (refused while the
    // app was down), and the last error's text named the cause.
    for d in stored(&queue) {
        assert!(d["attempts"].as_u64().unwrap() >= 2, "{d}");
    }
    let log = relay.log();
    assert!(log.contains("Connection refused"), "{log}");
    assert!(
        log.contains("the app answered 500 Internal Server Error: busy, try later"),
        "{log}"
    );
    // The operations metrics cover forwarded deliveries.
    let metrics = get(&format!("http://127.0.0.1:{admin}/metrics"));
    let ok = metrics
        .lines()
        .find(|l| l.starts_with("bedrud_webhook_handler_runs_total{result=\"ok\"}"));
    assert_eq!(
        ok,
        Some("bedrud_webhook_handler_runs_total{result=\"ok\"} 30"),
        "{metrics}"
    );
}

#[test]
fn a_relay_killed_mid_burst_forwards_every_delivery_it_accepted() {
    let (_dir, queue) = sqlite("relay-kill");
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::start(app_addr, Mode::Fine);
    let app_url = format!("http://{app_addr}/hooks");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Power-safe (every commit fsynced), as a relay that must survive more
    // than a kill would run.
    let mut first = relay(addr, &queue, &app_url, &["--power-safe"]);
    let pid = first.child.id();
    let sent = deliveries("kill", 600);
    let url = format!("http://{addr}/webhooks/bedrud");
    // SIGKILL once a third of the burst is answered.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        signal("KILL", &[pid]);
    });
    let accepted = post_all(&url, &sent, 16);
    killer.join().unwrap();
    first.kill();
    assert!(
        !accepted.is_empty() && accepted.len() < 600,
        "the kill should land mid-burst: {} accepted",
        accepted.len()
    );
    let second = relay(addr, &queue, &app_url, &[]);
    let arrived = |id: &String| app.seen(|s| s.attempts.contains_key(id));
    until(
        90,
        "every accepted delivery at the app",
        || accepted.iter().all(arrived),
        || second.log(),
    );
    assert_eq!(app.seen(|s| s.forged), 0);
}

/// A delivery the app cannot take goes dead with the cause as its error.
fn goes_dead(mode: Mode, extra: &[&str], error: &str) -> (TempDir, String, Delivery, SocketAddr) {
    let (dir, queue) = sqlite(&format!("relay-{mode:?}"));
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::start(app_addr, mode);
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let extra = [&["--attempts", "2", "--backoff", "0.2"], extra].concat();
    let relay = relay(addr, &queue, &format!("http://{app_addr}/hooks"), &extra);
    let delivery = deliveries(&format!("{mode:?}"), 1).remove(0);
    let accepted = post_all(
        &format!("http://{addr}/webhooks/bedrud"),
        std::slice::from_ref(&delivery),
        1,
    );
    assert_eq!(accepted.len(), 1);
    until(
        30,
        "the delivery dead",
        || stored(&queue).first().is_some_and(|d| d["state"] == "dead"),
        || relay.log(),
    );
    let dead = stored(&queue).remove(0);
    assert_eq!(dead["attempts"], 2, "{dead}");
    let last = dead["last_error"].as_str().unwrap();
    assert!(last.contains(error), "{last}");
    assert_eq!(
        app.seen(|s| s.attempts.get(&id_of(&delivery)).copied()),
        Some(2)
    );
    drop(relay);
    (dir, queue, delivery, app_addr)
}

#[test]
fn an_app_that_never_answers_times_out_until_dead_and_rerun_delivers_it() {
    let (_dir, queue, delivery, app_addr) = goes_dead(
        Mode::Silent,
        &["--forward-timeout", "0.5"],
        "did not answer within 500 ms",
    );
    // The app is back (a fine one on the same port), and a relay with it.
    let app = TestApp::start(app_addr, Mode::Fine);
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let relay = relay(addr, &queue, &format!("http://{app_addr}/hooks"), &[]);
    let rerun = Command::new(binaries().join("bedrud-webhook"))
        .args(["deliveries", "rerun", "--all-dead", "--queue", &queue])
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{rerun:?}");
    let id = id_of(&delivery);
    until(
        30,
        "the re-run delivery at the app",
        || app.seen(|s| s.attempts.get(&id) == Some(&1)),
        || relay.log(),
    );
    until(
        30,
        "the delivery done",
        || stored(&queue)[0]["state"] == "done",
        || relay.log(),
    );
}

/// Without a forwarding secret the relay makes one, prints it once with how
/// to keep it, and signs with it: an app given the printed one verifies.
#[test]
fn a_generated_forwarding_secret_is_printed_once_and_signs_what_is_forwarded() {
    let (_dir, queue) = sqlite("relay-generated");
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let command = relay_command(addr, &queue, &format!("http://{app_addr}/hooks"));
    let relay = start_relay(command, addr);
    // Its output is collected by another thread: wait for the last line.
    relay.wait_for(10, "--forward-secret-file");
    let lines = relay.lines();
    let said = lines
        .iter()
        .position(|l| l.starts_with("no forwarding secret given"))
        .unwrap_or_else(|| panic!("no secret announced:\n{}", relay.log()));
    let generated = lines[said + 1].trim().to_owned();
    assert!(generated.starts_with("whsec_"), "{generated}");
    assert!(
        lines[said + 2].contains("--forward-secret-file"),
        "{}",
        lines[said + 2]
    );

    let app = TestApp::serve(app_addr, Mode::Fine, &generated, None);
    let sent = deliveries("generated", 3);
    let accepted = post_all(&format!("http://{addr}/webhooks/bedrud"), &sent, 3);
    assert_eq!(accepted.len(), 3);
    until(
        30,
        "three deliveries at the app",
        || app.seen(|s| s.order.len()) == 3,
        || relay.log(),
    );
    assert_eq!(app.seen(|s| s.forged), 0);
    app.assert_exact(&sent);
    assert_eq!(relay.log().matches(&generated).count(), 1, "printed once");
}

/// An `https://` app with a certificate of its own (self-signed, for
/// `localhost`): reached once the relay's machine trusts it (here through
/// `SSL_CERT_FILE`), refused with the reason while it does not.
#[test]
fn an_https_app_is_reached_when_its_certificate_is_trusted_and_refused_when_not() {
    let dir = temp_dir("relay-https");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = dir.join("app.pem");
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::start_tls(app_addr, Mode::Fine, &cert);
    let url = format!("https://localhost:{}/hooks", app_addr.port());

    let trusted = dir.join("trusted.db").to_str().unwrap().to_owned();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut command = relay_command(addr, &trusted, &url);
    command.env("SSL_CERT_FILE", &pem);
    command.args(["--forward-secret", FORWARD_SECRET]);
    let relay = start_relay(command, addr);
    let sent = deliveries("https", 5);
    let accepted = post_all(&format!("http://{addr}/webhooks/bedrud"), &sent, 5);
    assert_eq!(accepted.len(), 5);
    until(
        30,
        "five deliveries at the app over TLS",
        || app.seen(|s| s.order.len()) == 5,
        || relay.log(),
    );
    let mut arrived = app.seen(|s| s.order.clone());
    let mut expected: Vec<String> = sent.iter().map(id_of).collect();
    arrived.sort();
    expected.sort();
    assert_eq!(arrived, expected);
    assert_eq!(app.seen(|s| s.forged), 0);
    app.assert_exact(&sent);
    drop(relay);

    // A wrong SSL_CERT_FILE leaves Mozilla's roots alone, which do not know
    // the certificate: a warning, and a failed attempt that says why.
    let untrusted = dir.join("untrusted.db").to_str().unwrap().to_owned();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut command = relay_command(addr, &untrusted, &url);
    command.env("SSL_CERT_FILE", dir.join("missing.pem"));
    command.args(["--attempts", "1", "--forward-secret", FORWARD_SECRET]);
    let relay = start_relay(command, addr);
    let accepted = post_all(
        &format!("http://{addr}/webhooks/bedrud"),
        &deliveries("untrusted", 1),
        1,
    );
    assert_eq!(accepted.len(), 1);
    until(
        30,
        "the delivery dead",
        || {
            stored(&untrusted)
                .first()
                .is_some_and(|d| d["state"] == "dead")
        },
        || relay.log(),
    );
    let dead = stored(&untrusted).remove(0);
    let last = dead["last_error"].as_str().unwrap();
    assert!(
        last.contains("invalid peer certificate: UnknownIssuer"),
        "{last}"
    );
    let log = relay.log();
    assert!(
        log.contains("could not read some of the system's root certificates"),
        "{log}"
    );
    assert!(
        log.contains("missing.pem"),
        "the warning names the file: {log}"
    );
    assert_eq!(app.seen(|s| s.order.len()), 5, "nothing more arrived");
}

#[test]
fn a_redirect_is_not_followed_and_a_huge_answer_is_read_to_the_bound() {
    goes_dead(
        Mode::Redirects,
        &[],
        "the app answered 302 Found (redirects are not followed: /elsewhere)",
    );
    goes_dead(Mode::Huge, &[], "the response body is over 65536 bytes");
}

#[test]
fn two_relays_on_one_postgres_queue_forward_every_delivery() {
    let pg = Postgres::start("relay-replicas");
    let app_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::start(app_addr, Mode::FailsFirstOfEveryThird);
    let app_url = format!("http://{app_addr}/hooks");
    let replicas: Vec<(SocketAddr, Running)> = (0..2)
        .map(|_| {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            (addr, relay(addr, &pg.url, &app_url, &["--backoff", "0.2"]))
        })
        .collect();
    let sent = deliveries("replicas", 100);
    let (even, odd): (Vec<_>, Vec<_>) = sent
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let mut accepted = Vec::new();
    for ((addr, _), half) in replicas.iter().zip([even, odd]) {
        let half: Vec<Delivery> = half.into_iter().map(|(_, d)| d).collect();
        accepted.extend(post_all(
            &format!("http://{addr}/webhooks/bedrud"),
            &half,
            8,
        ));
    }
    assert_eq!(accepted.len(), 100);
    let log = || {
        replicas
            .iter()
            .map(|(_, r)| r.log())
            .collect::<Vec<_>>()
            .join("\n")
    };
    until(
        60,
        "100 deliveries at the app",
        || {
            accepted
                .iter()
                .all(|id| app.seen(|s| s.attempts.contains_key(id)))
        },
        log,
    );
    until(
        60,
        "every delivery done",
        || stored(&pg.url).iter().all(|d| d["state"] == "done"),
        log,
    );
    // Each forwarded until one attempt succeeded: one more for the failed ones.
    let (order, attempts) = app.seen(|s| (s.order.clone(), s.attempts.clone()));
    for (i, id) in order.iter().enumerate() {
        assert_eq!(attempts[id], if i % 3 == 0 { 2 } else { 1 }, "{id}");
    }
    // Whichever replica's worker took a failing one said so, once each.
    let failed = replicas.iter().flat_map(|(_, r)| r.lines());
    let failed = failed
        .filter(|l| l.contains("failed attempt 1 of 8"))
        .count();
    assert_eq!(failed, order.len().div_ceil(3), "{}", log());
}
