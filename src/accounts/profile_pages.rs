//! The profile pages of the privacy centre, as askama templates: what is held with its source,
//! the edit form, and the confirmation of a new email address.

use super::profile::Attribute;
use crate::store::CustomerRecord;
use crate::web::pages::utc_minute;
use askama::Template;

/// One attribute, written out.
pub struct AttributeRow {
    pub label: &'static str,
    pub value: String,
    pub source: String,
    pub changed: String,
}

/// The edit form's current values: (field, label, value, input type, autocomplete).
pub type FieldRow = (&'static str, &'static str, String, &'static str, &'static str);

#[derive(Template)]
#[template(path = "account/profile.html")]
pub struct ProfilePage<'a> {
    pub csrf: &'a str,
    pub attributes: &'a [AttributeRow],
    pub fields: &'a [FieldRow],
    pub email: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account/email_confirm.html")]
pub struct EmailConfirmPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    /// None: the link expired or was used.
    pub new_email: Option<&'a str>,
}

pub fn attribute_rows(attributes: Vec<Attribute>) -> Vec<AttributeRow> {
    attributes
        .into_iter()
        .map(|a| AttributeRow {
            label: a.label,
            value: a.value.unwrap_or_else(|| "not held".into()),
            source: a.source,
            changed: a.changed_at.map(utc_minute).unwrap_or_default(),
        })
        .collect()
}

/// The edit form, filled with what is held (the address from its §5.1.1 members).
pub fn field_rows(c: &CustomerRecord) -> Vec<FieldRow> {
    let address: serde_json::Value =
        c.address.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
    let part = |k: &str| address[k].as_str().unwrap_or("").to_string();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        ("name", "Full name", v(&c.name), "text", "name"),
        ("given_name", "Given name", v(&c.given_name), "text", "given-name"),
        ("family_name", "Family name", v(&c.family_name), "text", "family-name"),
        ("claim.phone_number", "Phone number", v(&c.phone_number), "tel", "tel"),
        ("claim.birthdate", "Date of birth", v(&c.birthdate), "date", "bday"),
        ("claim.address.street_address", "Street and number", part("street_address"), "text", "street-address"),
        ("claim.address.postal_code", "Postal code", part("postal_code"), "text", "postal-code"),
        ("claim.address.locality", "Town", part("locality"), "text", "address-level2"),
        ("claim.address.country", "Country", part("country"), "text", "country-name"),
    ]
}
