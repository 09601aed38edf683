//! A maintainer's pages: a new version with files from the form, project settings (the
//! registry's visibility, members) and access tokens; an anonymous visitor who loses
//! access when the project turns private.

use crate::browser::{Browser, Hangar};
use fantoccini::Locator;
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{NewProject, NewRegisteredModel, NewUser, User};
use hangar_store::{ProjectRepo, RegisteredModelRepo, UserRepo};
use std::time::Duration;

pub async fn person(hangar: &Hangar, username: &str) -> User {
    hangar
        .store
        .create_user(NewUser {
            username: username.into(),
            name: username.into(),
            email: None,
            password_hash: Some(hangar_core::password::hash("correct horse battery").unwrap()),
            is_admin: false,
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_version_with_files_settings_tokens_and_losing_public_access() {
    let hangar = Hangar::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let owner = person(&hangar, "olga").await;
    person(&hangar, "nils").await;
    let project = hangar
        .store
        .create_project(NewProject {
            namespace: "team".into(),
            path: "open".into(),
            name: "open".into(),
            description: String::new(),
            visibility: Visibility::Public,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: None,
            owner_id: Some(owner.id),
            workspace: None,
        })
        .await
        .unwrap();
    let model = hangar
        .store
        .create_registered_model(
            project.id,
            NewRegisteredModel {
                name: "ranker".into(),
                description: String::new(),
                user_id: "olga".into(),
                tags: vec![],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let c = &browser.client;
    let base = &hangar.url;
    let models = "/team/open/-/ml/models";

    // Public: an anonymous visitor reads the registry, without write actions.
    c.goto(&format!("{base}{models}")).await.unwrap();
    c.find(Locator::LinkText("ranker")).await.unwrap();
    assert!(
        c.find_all(Locator::LinkText("New model"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        c.find_all(Locator::LinkText("Settings"))
            .await
            .unwrap()
            .is_empty()
    );
    browser.shot("anonymous-public-models").await;

    // A new version from the form, with two files uploaded into it.
    browser.sign_in(base, "olga", models).await;
    c.goto(&format!("{base}{models}/{}/versions/new", model.id))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("model.onnx"), dir.path().join("card.md"));
    std::fs::write(&one, vec![7u8; 300_000]).unwrap();
    std::fs::write(&two, "# ranker").unwrap();
    browser.fill("input[name=version]", "2.1.0").await;
    c.find(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(&format!("{}\n{}", one.display(), two.display()))
        .await
        .unwrap();
    browser.fill("input[name=subfolder]", "export").await;
    browser.shot("version-new").await;
    browser.click("main form button[type=submit]").await;
    // The script creates the version, uploads, then opens the version's page.
    let onnx = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::LinkText("export/model.onnx"))
        .await
        .unwrap();
    browser.wait_text("h1", |t| t == "ranker / 2.1.0").await;
    c.find(Locator::LinkText("export/card.md")).await.unwrap();
    browser.shot("version-with-files").await;
    let href = onnx.attr("href").await.unwrap().unwrap();
    let size = c
        .execute(
            "return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => b.byteLength)",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(size, serde_json::json!(300_000), "downloaded whole");
    // A semver that exists is refused, with the reason shown, and no file is uploaded.
    c.goto(&format!("{base}{models}/{}/versions/new", model.id))
        .await
        .unwrap();
    browser.fill("input[name=version]", "2.1.0").await;
    c.find(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(&two.display().to_string())
        .await
        .unwrap();
    browser.click("main form button[type=submit]").await;
    let status = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[@class='status' and contains(., '2.1.0')]",
        ))
        .await
        .unwrap();
    assert!(status.text().await.unwrap().contains("already exists"));

    // Settings: reachable from the tabs; the project turns private.
    c.goto(&format!("{base}{models}")).await.unwrap();
    browser.click_link("Settings").await;
    browser.wait_path("/team/open/-/settings").await;
    browser.shot("settings").await;
    browser.choose("select[name=visibility]", "private").await;
    browser
        .fill(
            "input[name=ci_base_url]",
            "https://gitlab.example.com/team/open",
        )
        .await;
    browser.click("form.settings button[type=submit]").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(
            "select[name=visibility] option[value='private'][selected]",
        ))
        .await
        .unwrap();
    let stored = hangar.store.get_project(project.id).await.unwrap().unwrap();
    assert_eq!(stored.visibility, Visibility::Private);
    assert_eq!(
        stored.ci_base_url.as_deref(),
        Some("https://gitlab.example.com/team/open")
    );
    // A bad URL is refused with the API's message, beside the button.
    browser
        .fill("input[name=ci_base_url]", "ftp://example.com")
        .await;
    browser.click("form.settings button[type=submit]").await;
    let error = c
        .wait()
        .for_element(Locator::Css("form.settings .status.error"))
        .await
        .unwrap();
    assert!(error.text().await.unwrap().contains("ci_base_url"));

    // A member added, then made maintainer.
    browser
        .fill("form.add-member input[name=username]", "nils")
        .await;
    browser
        .choose("form.add-member select[name=access_level]", "30")
        .await;
    browser.click("form.add-member button[type=submit]").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("select[aria-label='Role of nils']"))
        .await
        .unwrap();
    browser
        .choose("select[aria-label='Role of nils']", "40")
        .await;
    let row = c
        .find(Locator::XPath("//tr[.//strong[text()='nils']]"))
        .await
        .unwrap();
    row.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//tr[.//strong[text()='nils']]//option[@value='40' and @selected]",
        ))
        .await
        .unwrap();
    browser.shot("settings-saved").await;

    // A personal access token: shown once, works, then revoked.
    browser.click_link("Access tokens").await;
    browser
        .wait_path("/-/user_settings/personal_access_tokens")
        .await;
    browser
        .fill("form.new-token input[name=name]", "laptop")
        .await;
    browser.click("form.new-token button[type=submit]").await;
    let secret = browser.text(".secret:not([hidden]) code.token-value").await;
    assert!(secret.starts_with("glpat-"), "{secret}");
    browser.shot("token-created").await;
    let user_api = format!("{base}/api/v4/user");
    assert_eq!(browser.fetch_status(&user_api, Some(&secret)).await, 200);
    c.refresh().await.unwrap();
    assert_eq!(browser.text("table.tokens td").await, "laptop");
    assert!(!c.source().await.unwrap().contains(&secret), "shown once");
    browser.click("button[data-name='the token laptop']").await;
    c.accept_alert().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//table[contains(@class,'tokens')]//span[text()='inactive']",
        ))
        .await
        .unwrap();
    assert_eq!(browser.fetch_status(&user_api, Some(&secret)).await, 401);
    browser.shot("tokens").await;

    // Signed out, the visitor has lost the registry: it now asks who they are.
    browser.sign_out().await;
    c.goto(&format!("{base}{models}")).await.unwrap();
    browser.wait_path("/users/sign_in").await;
    let api = format!("{base}/api/v4/projects/{}/ml/models", project.id);
    assert_eq!(
        browser.fetch_status(&api, None).await,
        401,
        "the API asks for a token"
    );
    browser.shot("anonymous-private").await;
    browser.close().await;
}
