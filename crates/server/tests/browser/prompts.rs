//! The prompt registry as a person sees it: the Prompts tab, a prompt's versions with their
//! templates, and the diff between two versions chosen in the page's form.

use crate::browser::{Browser, Hangar};
use fantoccini::Locator;
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{
    NewModelVersion, NewProject, NewRegisteredModel, NewUser, SemverChoice, VersionStorage,
};
use hangar_store::{ModelVersionRepo, ProjectRepo, RegisteredModelRepo, UserRepo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompts_versions_read_and_compare() {
    let hangar = Hangar::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = &hangar.store;
    let owner = store
        .create_user(NewUser {
            username: "ana".into(),
            name: "Ana".into(),
            email: None,
            password_hash: Some(hangar_core::password::hash("correct horse battery").unwrap()),
            is_admin: false,
        })
        .await
        .unwrap();
    let project = store
        .create_project(NewProject {
            namespace: "team".into(),
            path: "words".into(),
            name: "words".into(),
            description: String::new(),
            visibility: Visibility::Private,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: None,
            owner_id: Some(owner.id),
            workspace: None,
        })
        .await
        .unwrap();
    let prompt_tag = ("mlflow.prompt.is_prompt".to_owned(), "true".to_owned());
    store
        .create_registered_model(
            project.id,
            NewRegisteredModel {
                name: "greeting".into(),
                description: String::new(),
                user_id: "ana".into(),
                tags: vec![prompt_tag.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let templates = [
        ("Hello {{name}}!\nHave a nice day.", "first"),
        ("Hi {{name}}!\nHave a nice day.", "friendlier"),
        ("Hi {{name}}!\nHave a great day.", "warmer"),
    ];
    for (template, message) in templates {
        store
            .create_model_version(
                project.id,
                "greeting",
                NewModelVersion {
                    semver: SemverChoice::Next,
                    description: message.into(),
                    user_id: "ana".into(),
                    source: "dummy-source".into(),
                    run_uuid: None,
                    run_link: String::new(),
                    model_uuid: String::new(),
                    tags: vec![
                        prompt_tag.clone(),
                        ("mlflow.prompt.text".into(), template.into()),
                        ("_mlflow_prompt_type".into(), "text".into()),
                    ],
                    storage: VersionStorage::Candidate(String::new()),
                    author: Default::default(),
                },
            )
            .await
            .unwrap();
    }
    let c = &browser.client;
    browser
        .sign_in(&hangar.url, "ana", "/team/words/-/ml/models")
        .await;
    browser.click_link("Prompts").await;
    browser.wait_path("/team/words/-/ml/prompts").await;
    browser.shot("prompts").await;
    browser.click_link("greeting").await;
    browser.wait_text("h1", |t| t.starts_with("greeting")).await;
    browser.shot("prompt").await;
    // The newest version against the one before it.
    assert_eq!(
        browser.text("pre.diff").await,
        "  Hi {{name}}!\n- Have a nice day.\n+ Have a great day."
    );
    let versions = c.find_all(Locator::Css("pre.template")).await.unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(
        versions[2].text().await.unwrap(),
        "Hello {{name}}!\nHave a nice day."
    );
    // Any two, chosen in the form.
    browser.choose("select[name=from]", "1").await;
    browser.choose("select[name=to]", "3").await;
    browser.click("#diff button[type=submit]").await;
    browser
        .wait_text("#diff h2", |t| t == "Version 1 → version 3")
        .await;
    browser.shot("prompt-diff").await;
    assert_eq!(
        browser.text("pre.diff").await,
        "- Hello {{name}}!\n- Have a nice day.\n+ Hi {{name}}!\n+ Have a great day."
    );
    browser.close().await;
}
