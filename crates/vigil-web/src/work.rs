//! The pages where investigators work: incidents (qualification, status, footage, comments)
//! and person records. Forms post here and are redirected back (post/redirect/get); every
//! form carries the session's CSRF token; rules and audit events are `vigil-core`'s.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vigil_core::incidents::{self, IncidentError, IncidentView, LABELS, STATUSES};
use vigil_core::persons::{self, PersonView};
use vigil_store::{Incident, IncidentFields, Person, PersonFields, PersonName, Role, User};
use vigil_taxonomy::Taxonomy;

use crate::auth::SignedIn;
use crate::{AppState, WebError};

fn page_error(e: IncidentError) -> WebError {
    match e {
        IncidentError::NotFound => WebError::not_found(false),
        IncidentError::Forbidden => WebError::forbidden(false),
        IncidentError::Invalid(why) => WebError::bad_request(why, false),
        IncidentError::Core(e) => WebError::internal(e, false),
    }
}

fn render(t: &impl Template) -> Result<Response, WebError> {
    t.render()
        .map(|html| axum::response::Html(html).into_response())
        .map_err(|e| WebError::internal(e, false))
}

/// Text fields of a form: empty means absent.
fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    incidents: Vec<Incident>,
    can_edit: bool,
    date_precisions: [&'static str; 5],
    place_precisions: [&'static str; 6],
}

/// `GET /incidents`.
pub async fn list(State(state): State<Arc<AppState>>, who: SignedIn) -> Result<Response, WebError> {
    let mut list = Vec::new();
    for id in state.catalog.incidents_visible_to(who.user(), 500).await? {
        if let Some(i) = state.catalog.incident(id).await? {
            list.push(i);
        }
    }
    render(&IncidentsPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        incidents: list,
        can_edit: who.user().role >= Role::Investigator,
        date_precisions: ["day", "month", "year", "approximate", "unknown"],
        place_precisions: [
            "exact",
            "settlement",
            "district",
            "region",
            "country",
            "unknown",
        ],
    })
}

/// The new-incident form.
#[derive(Deserialize)]
pub struct NewIncidentForm {
    #[serde(default)]
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    occurred: String,
    #[serde(default)]
    date_precision: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    place_precision: String,
}

/// `POST /incidents`: creates one in the `default` collection.
pub async fn create(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(f): Form<NewIncidentForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    let fields = IncidentFields {
        title: f.title,
        description: f.description,
        occurred: some(&f.occurred),
        date_precision: some(&f.date_precision).unwrap_or_else(|| "unknown".into()),
        place: some(&f.place),
        place_precision: some(&f.place_precision).unwrap_or_else(|| "unknown".into()),
        latitude: None,
        longitude: None,
    };
    let created = incidents::create(
        &state.catalog,
        who.user(),
        1,
        &fields,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    Ok(Redirect::to(&format!("/incidents/{}", created.id)).into_response())
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    view: IncidentView,
    can_edit: bool,
    /// (category label, [(entry id, entry label)]).
    taxonomy: Vec<(String, Vec<(String, String)>)>,
    statuses: [&'static str; 4],
    labels: [&'static str; 4],
}

pub(crate) fn taxonomy_choices() -> Vec<(String, Vec<(String, String)>)> {
    let t = Taxonomy::load();
    t.categories()
        .iter()
        .map(|c| {
            (
                c.label.clone(),
                t.entries_in(&c.id)
                    .map(|e| (e.id.clone(), e.label.clone()))
                    .collect(),
            )
        })
        .collect()
}

/// `GET /incidents/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let view = incidents::view(&state.catalog, who.user(), id, who.client.ip.as_deref())
        .await
        .map_err(page_error)?;
    render(&IncidentPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        view,
        can_edit: who.user().role >= Role::Investigator,
        taxonomy: taxonomy_choices(),
        statuses: STATUSES,
        labels: LABELS,
    })
}

/// A form that adds a tag, label or item.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    kind: String,
    value: String,
}

/// `POST /incidents/{id}/links`.
pub async fn link(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<LinkForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    incidents::link(
        &state.catalog,
        who.user(),
        id,
        &f.kind,
        f.value.trim(),
        true,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    Ok(incident_changed(&state, id).await)
}

/// After a change through a form: the incident re-indexed, and back to its page.
async fn incident_changed(state: &AppState, id: i64) -> Response {
    crate::find::refresh_incident(state, id).await;
    Redirect::to(&format!("/incidents/{id}")).into_response()
}

/// The status form.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
}

/// `POST /incidents/{id}/status`.
pub async fn status(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    let current = state
        .catalog
        .incident(id)
        .await?
        .ok_or_else(|| WebError::not_found(false))?;
    incidents::update(
        &state.catalog,
        who.user(),
        id,
        &current.fields,
        &f.status,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    Ok(incident_changed(&state, id).await)
}

/// The comment form.
#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    body: String,
}

/// `POST /incidents/{id}/comments`.
pub async fn comment(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<CommentForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    incidents::comment(
        &state.catalog,
        who.user(),
        id,
        &f.body,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    Ok(incident_changed(&state, id).await)
}

#[derive(Template)]
#[template(path = "persons.html")]
struct PersonsPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    persons: Vec<Person>,
    statuses: [&'static str; 7],
}

/// `GET /persons` (investigators, admins).
pub async fn persons_list(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Response, WebError> {
    let list = persons::list(&state.catalog, who.user())
        .await
        .map_err(page_error)?;
    render(&PersonsPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        persons: list,
        statuses: persons::STATUSES,
    })
}

/// The new-person form.
#[derive(Deserialize)]
pub struct NewPersonForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    other_names: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    service_number: String,
}

/// `POST /persons`: in the `default` collection.
pub async fn create_person(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(f): Form<NewPersonForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    let name = |n: &str, transliteration| PersonName {
        name: n.trim().to_owned(),
        script: String::new(),
        transliteration,
    };
    let mut names = vec![name(&f.name, false)];
    names.extend(
        f.other_names
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| name(l, true)),
    );
    let fields = PersonFields {
        names,
        status: some(&f.status).unwrap_or_else(|| "unknown".into()),
        unit: some(&f.unit),
        service_number: some(&f.service_number),
        ..Default::default()
    };
    let created = persons::create(
        &state.catalog,
        who.user(),
        1,
        &fields,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    Ok(Redirect::to(&format!("/persons/{}", created.id)).into_response())
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    view: PersonView,
    roles: [&'static str; 4],
}

/// `GET /persons/{id}` (investigators, admins).
pub async fn person(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let view = persons::view(&state.catalog, who.user(), id, who.client.ip.as_deref())
        .await
        .map_err(page_error)?;
    render(&PersonPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        view,
        roles: persons::ROLES,
    })
}

/// The form linking a person to an incident.
#[derive(Deserialize)]
pub struct PersonIncidentForm {
    #[serde(default)]
    csrf: String,
    incident_id: String,
    role: String,
}

/// `POST /persons/{id}/incidents`.
pub async fn person_incident(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<PersonIncidentForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    let incident: i64 = f
        .incident_id
        .trim()
        .parse()
        .map_err(|_| WebError::bad_request("the incident number is a number", false))?;
    persons::link_incident(
        &state.catalog,
        who.user(),
        id,
        incident,
        Some(&f.role),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(page_error)?;
    crate::find::refresh_person(&state, id).await;
    Ok(Redirect::to(&format!("/persons/{id}")).into_response())
}
