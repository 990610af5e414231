//! A small XML writer for the GeoReport documents: elements, text and
//! nothing else, so it stays obviously correct.

/// Builds one XML document.
pub struct XmlWriter {
    out: String,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        }
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>`; an absent value is an empty element, as the
    /// spec's examples show for null fields.
    pub fn field(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => {
                self.open(name);
                escape_into(&mut self.out, text);
                self.close(name)
            }
            None => {
                self.out.push('<');
                self.out.push_str(name);
                self.out.push_str("/>");
                self
            }
        }
    }

    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.field(name, Some(text))
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Escapes text for element content; characters XML 1.0 cannot carry at
/// all (most C0 controls, lone surrogates are impossible in `str`) are
/// dropped rather than producing a document no parser accepts.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    /// The text of the single `<v>` element of `doc`, as a parser reads it.
    fn read_back(doc: &str) -> String {
        let mut reader = Reader::from_str(doc);
        let mut text = String::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Text(t) => text.push_str(&t.into_inner()),
                Event::GeneralRef(r) => {
                    let name = r.into_inner();
                    let c = quick_xml::escape::resolve_predefined_entity(&name)
                        .expect("predefined entity");
                    text.push_str(c);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        text
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("bell\u{7}"), "bell");
        let mut w = XmlWriter::new();
        w.open("r").field("x", None).text("y", "1 < 2").close("r");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><r><x/><y>1 &lt; 2</y></r>"
        );
    }

    fn carried(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r') || (c as u32 >= 0x20 && c != '\u{FFFE}' && c != '\u{FFFF}')
    }

    proptest! {
        /// Any text survives a round trip through a real parser, except the
        /// characters XML cannot carry.
        #[test]
        fn text_round_trips(s in any::<String>()) {
            let mut w = XmlWriter::new();
            w.text("v", &s);
            let expected: String = s
                .chars()
                .filter(|&c| carried(c))
                // A parser normalises line ends.
                .collect::<String>()
                .replace("\r\n", "\n")
                .replace('\r', "\n");
            let got = read_back(&w.finish()).replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(got, expected);
        }
    }
}
