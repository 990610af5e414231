//! The GeoReport v2 documents, each rendered as JSON (serde) and as XML
//! with the element names of the spec's XML examples.

use serde::Serialize;

use crate::xml::XmlWriter;

/// A document that can be written as XML.
pub trait ToXml {
    fn write_xml(&self, w: &mut XmlWriter);

    fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        self.write_xml(&mut w);
        w.finish()
    }
}

/// One entry of `services`: a category of the matter catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: Option<String>,
    /// Whether `services/{code}` lists attributes to fill in.
    pub metadata: bool,
    /// Always `realtime`: a request becomes a matter as it is posted.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub keywords: Option<String>,
    pub group: Option<String>,
}

/// `GET services`: `<services><service>…</service></services>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Services(pub Vec<Service>);

impl ToXml for Services {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("services");
        for s in &self.0 {
            w.open("service")
                .text("service_code", &s.service_code)
                .text("service_name", &s.service_name)
                .field("description", s.description.as_deref())
                .text("metadata", if s.metadata { "true" } else { "false" })
                .text("type", s.kind)
                .field("keywords", s.keywords.as_deref())
                .field("group", s.group.as_deref())
                .close("service");
        }
        w.close("services");
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// An extra field of a service's form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub variable: bool,
    pub code: String,
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: Option<String>,
    pub order: Option<i64>,
    pub description: Option<String>,
    pub values: Vec<AttributeValue>,
}

/// `GET services/{code}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

impl ToXml for ServiceDefinition {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("service_definition")
            .text("service_code", &self.service_code)
            .open("attributes");
        for a in &self.attributes {
            w.open("attribute")
                .text("variable", if a.variable { "true" } else { "false" })
                .text("code", &a.code)
                .text("datatype", a.datatype)
                .text("required", if a.required { "true" } else { "false" })
                .field("datatype_description", a.datatype_description.as_deref())
                .field("order", a.order.map(|o| o.to_string()).as_deref())
                .field("description", a.description.as_deref())
                .open("values");
            for v in &a.values {
                w.open("value")
                    .text("key", &v.key)
                    .text("name", &v.name)
                    .close("value");
            }
            w.close("values").close("attribute");
        }
        w.close("attributes").close("service_definition");
    }
}

/// A service request: a residents' matter as the public may see it. No
/// field carries the reporter's personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    /// RFC 3339, UTC.
    pub requested_datetime: String,
    pub updated_datetime: Option<String>,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// `GET requests` and `GET requests/{id}`:
/// `<service_requests><request>…</request></service_requests>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ServiceRequests(pub Vec<ServiceRequest>);

impl ToXml for ServiceRequests {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("service_requests");
        for r in &self.0 {
            w.open("request")
                .text("service_request_id", &r.service_request_id)
                .text("status", r.status)
                .field("status_notes", r.status_notes.as_deref())
                .field("service_name", r.service_name.as_deref())
                .text("service_code", &r.service_code)
                .field("description", r.description.as_deref())
                .field("agency_responsible", r.agency_responsible.as_deref())
                .field("service_notice", r.service_notice.as_deref())
                .text("requested_datetime", &r.requested_datetime)
                .field("updated_datetime", r.updated_datetime.as_deref())
                .field("expected_datetime", r.expected_datetime.as_deref())
                .field("address", r.address.as_deref())
                .field("address_id", r.address_id.as_deref())
                .field("zipcode", r.zipcode.as_deref())
                .field("lat", r.lat.map(|v| v.to_string()).as_deref())
                .field("long", r.long.map(|v| v.to_string()).as_deref())
                .field("media_url", r.media_url.as_deref())
                .close("request");
        }
        w.close("service_requests");
    }
}

/// The answer to `POST requests`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Created {
    pub service_request_id: String,
    pub token: String,
    pub service_notice: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CreatedList(pub Vec<Created>);

impl ToXml for CreatedList {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("service_requests");
        for c in &self.0 {
            w.open("request")
                .text("service_request_id", &c.service_request_id)
                .text("token", &c.token)
                .field("service_notice", c.service_notice.as_deref())
                .field("account_id", c.account_id.as_deref())
                .close("request");
        }
        w.close("service_requests");
    }
}

/// The answer to `GET tokens/{token}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenAnswer {
    pub service_request_id: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct TokenAnswers(pub Vec<TokenAnswer>);

impl ToXml for TokenAnswers {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("service_requests");
        for t in &self.0 {
            w.open("request")
                .text("service_request_id", &t.service_request_id)
                .text("token", &t.token)
                .close("request");
        }
        w.close("service_requests");
    }
}

/// One error of the spec's error array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Open311ErrorItem {
    pub code: u16,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Errors(pub Vec<Open311ErrorItem>);

impl ToXml for Errors {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("errors");
        for e in &self.0 {
            w.open("error")
                .text("code", &e.code.to_string())
                .text("description", &e.description)
                .close("error");
        }
        w.close("errors");
    }
}

/// One endpoint of the discovery document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub formats: Vec<&'static str>,
}

/// `GET /open311/discovery`: where the GeoReport v2 endpoint is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

impl ToXml for Discovery {
    fn write_xml(&self, w: &mut XmlWriter) {
        w.open("discovery")
            .text("changeset", &self.changeset)
            .text("contact", &self.contact)
            .text("key_service", &self.key_service)
            .open("endpoints");
        for e in &self.endpoints {
            w.open("endpoint")
                .text("specification", e.specification)
                .text("url", &e.url)
                .text("changeset", &e.changeset)
                .text("type", e.kind)
                .open("formats");
            for f in &e.formats {
                w.text("format", f);
            }
            w.close("formats").close("endpoint");
        }
        w.close("endpoints").close("discovery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_both_formats() {
        let e = Errors(vec![Open311ErrorItem {
            code: 403,
            description: "bad <key>".into(),
        }]);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"[{"code":403,"description":"bad <key>"}]"#
        );
        assert!(e.to_xml().ends_with(
            "<errors><error><code>403</code><description>bad &lt;key&gt;</description></error></errors>"
        ));
    }

    #[test]
    fn service_type_is_named_type() {
        let s = Services(vec![Service {
            service_code: "noise".into(),
            service_name: "噪音".into(),
            description: None,
            metadata: false,
            kind: "realtime",
            keywords: None,
            group: Some("环境".into()),
        }]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v[0]["type"], "realtime");
        assert!(v[0]["description"].is_null());
        assert!(s.to_xml().contains("<service><service_code>noise</service_code><service_name>噪音</service_name><description/><metadata>false</metadata><type>realtime</type>"));
    }
}
