//! A Hangar on a loopback port over a fresh SQLite database, and a headless Chromium.

use fantoccini::{Client, ClientBuilder, Locator};
use hangar_server::AppState;
use hangar_store::SqlStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub struct Hangar {
    pub url: String,
    pub store: Arc<SqlStore>,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

impl Hangar {
    pub async fn start() -> Hangar {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let store = hangar_store::open(&format!(
            "sqlite://{}",
            dir.path().join("hangar.db").display()
        ))
        .await
        .unwrap();
        let blob_url = url::Url::from_file_path(dir.path().join("blobs"))
            .unwrap()
            .to_string();
        let state = AppState {
            store: store.clone(),
            blobs: hangar_blobs::BlobStore::open(&blob_url, &Default::default()).unwrap(),
            metrics: hangar_server::metrics_handle(),
            public_url: None,
            allowed_hosts: Vec::new().into(),
            lifecycle: Default::default(),
            throttles: Default::default(),
            client_ip_header: None,
            disks: Vec::new().into(),
            min_free_disk_bytes: 0,
            max_file_size: 64 * 1024 * 1024,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let router = hangar_server::router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Hangar {
            url: format!("http://{addr}"),
            store,
            state,
            _dir: dir,
        }
    }
}

/// chromedriver and the WebDriver session it drives; both end with this value.
pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// None when there is no browser here and none is required.
    pub async fn start() -> Option<Browser> {
        let found = Command::new("chromedriver")
            .arg("--version")
            .output()
            .is_ok();
        if !found {
            assert!(
                std::env::var("HANGAR_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "HANGAR_REQUIRE_BROWSER=1 but chromedriver is not installed"
            );
            eprintln!(
                "skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap().keep();
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.display())],
            }
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let mut last = None;
        for _ in 0..50 {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    // Every lookup waits for its element a little: a click that navigates
                    // returns before the next page has loaded.
                    let implicit = fantoccini::wd::TimeoutConfiguration::new(
                        None,
                        None,
                        Some(Duration::from_secs(3)),
                    );
                    client.update_timeouts(implicit).await.unwrap();
                    let shots =
                        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
                    std::fs::create_dir_all(&shots).unwrap();
                    return Some(Browser {
                        client,
                        driver,
                        shots,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not start: {last:?}");
    }

    /// Saves what the browser shows as `target/screenshots/<name>.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// The text of the first element matching `css`, waiting for it to appear: a click that
    /// navigates returns before the next page is there.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits until the first element matching `css` has a text that `want` accepts, and
    /// returns it: after a click that navigates, the old page's element may still answer, or
    /// vanish while it is read.
    pub async fn wait_text(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if want(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed the expected text; last: {last:?}");
    }

    /// Waits until the browser shows a page whose path ends with `suffix`.
    pub async fn wait_path(&self, suffix: &str) {
        for _ in 0..200 {
            let url = self.client.current_url().await.unwrap();
            if url.path().ends_with(suffix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser never reached …{suffix}");
    }

    /// Types `text` into the first element matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Chooses the option of value `value` in the `<select>` matching `css`.
    pub async fn choose(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Signs in through the form and waits to be back on `back`.
    pub async fn sign_in(&self, base: &str, username: &str, back: &str) {
        self.client
            .goto(&format!("{base}/users/sign_in?redirect_to={back}"))
            .await
            .unwrap();
        self.fill("input[name=username]", username).await;
        self.fill("input[name=password]", "correct horse battery")
            .await;
        self.click("button[type=submit]").await;
        self.wait_path(back).await;
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click("form[action='/users/sign_out'] button").await;
        self.wait_path("/users/sign_in").await;
    }

    /// Runs `fetch` in the page and returns the status (cookies left out when `token` is set).
    pub async fn fetch_status(&self, url: &str, token: Option<&str>) -> u64 {
        let script = "const [url, token] = arguments;
            const init = token ? {credentials: 'omit', headers: {'PRIVATE-TOKEN': token}} : {};
            return fetch(url, init).then(r => r.status)";
        self.client
            .execute(
                script,
                vec![serde_json::json!(url), serde_json::json!(token)],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap()
    }

    /// Ends the WebDriver session (the browser); chromedriver goes when the value drops.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A failing test unwinds past `close`: chromedriver must not outlive it either way.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
