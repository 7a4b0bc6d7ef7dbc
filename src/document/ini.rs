//! INI (placeholder while the adapter is written).
use super::tree::Node;
use super::{Error, Format};
pub struct IniDocument;
impl IniDocument {
    pub fn parse(_s: &str) -> Result<Box<dyn super::Document>, Error> {
        Err(Error::Unsupported { format: Format::Ini, what: "todo".into() })
    }
}
pub fn load_tree(_s: &str) -> Result<Node, Error> { Err(Error::Unsupported { format: Format::Ini, what: "todo".into() }) }
pub fn emit_tree(_n: &Node) -> Result<String, Error> { Err(Error::Unsupported { format: Format::Ini, what: "todo".into() }) }
