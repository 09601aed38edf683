"""MLflow 3's prompt registry through the real client: register, load by version, alias and
`@latest`, search, aliases, tags, deleting a version, chat prompts and response formats."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

if int(mlflow.__version__.split(".")[0]) < 3:
    pytest.skip("the prompt registry is MLflow 3", allow_module_level=True)


def test_register_load_alias_and_delete(client):
    first = mlflow.genai.register_prompt(name="greet", template="Hello {{name}}!", commit_message="first",
                                         tags={"team": "nlp"})
    assert (first.name, first.version, first.template, first.commit_message) == ("greet", 1, "Hello {{name}}!", "first")
    second = mlflow.genai.register_prompt(name="greet", template="Hi {{name}}, welcome!", commit_message="friendlier")
    assert second.version == 2

    assert mlflow.genai.load_prompt("prompts:/greet/1").template == "Hello {{name}}!"
    assert mlflow.genai.load_prompt("greet", version=2).format(name="Ada") == "Hi Ada, welcome!"
    assert mlflow.genai.load_prompt("prompts:/greet@latest").version == 2
    mlflow.genai.set_prompt_alias("greet", alias="production", version=1)
    assert mlflow.genai.load_prompt("prompts:/greet@production").template == "Hello {{name}}!"
    mlflow.genai.delete_prompt_alias("greet", alias="production")
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt("prompts:/greet@production")

    # Prompts get semantic versions like every version, and do not appear among models.
    assert [v.aliases[0] for v in client.search_model_versions("name = 'greet' and tags.`mlflow.prompt.is_prompt` = 'true'",
                                                               order_by=["version_number ASC"])] == ["1.0.0", "1.0.1"]
    client.create_registered_model("a-model")
    assert [m.name for m in client.search_registered_models()] == ["a-model"]
    assert [p.name for p in mlflow.genai.search_prompts()] == ["greet"]
    assert [p.name for p in mlflow.genai.search_prompts(filter_string="name LIKE 'gr%'")] == ["greet"]

    client.set_prompt_tag("greet", "owner", "ana")
    assert client.get_prompt("greet").tags["owner"] == "ana"
    client.delete_prompt_tag("greet", "owner")
    assert "owner" not in client.get_prompt("greet").tags
    client.set_prompt_version_tag("greet", 1, "reviewed", "yes")
    assert client.get_prompt_version("greet", 1).tags["reviewed"] == "yes"

    client.delete_prompt_version("greet", 2)
    assert mlflow.genai.load_prompt("prompts:/greet@latest").version == 1
    assert [v.version for v in client.search_prompt_versions("greet")] == [1]


def test_chat_prompts_and_response_formats(client):
    messages = [{"role": "system", "content": "You are {{style}}."}, {"role": "user", "content": "{{question}}"}]
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    chat = mlflow.genai.register_prompt(name="assistant", template=messages, response_format=schema)
    loaded = mlflow.genai.load_prompt("prompts:/assistant/1")
    assert loaded.template == messages and loaded.response_format == schema
    assert loaded.format(style="brief", question="Why?") == [
        {"role": "system", "content": "You are brief."}, {"role": "user", "content": "Why?"}]
    assert chat.version == 1


def test_a_prompt_source_must_be_a_placeholder(tracking_uri, admin_token):
    import requests

    from support import bearer

    mlflow.genai.register_prompt(name="p", template="x")
    r = requests.post(f"{tracking_uri}/api/2.0/mlflow/model-versions/create", headers=bearer(admin_token), json={
        "name": "p", "source": "s3://bucket/x", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]})
    assert r.status_code == 400 and r.json()["message"].startswith("Invalid prompt source: 's3://bucket/x'.")
