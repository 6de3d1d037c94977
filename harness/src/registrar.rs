//! How a protocol makes itself known: by name, with its driver's
//! constructor, and with the scenario files that exercise it.
//!
//! A protocol's folder exports `pub fn register(r: &mut impl Registrar)`;
//! the runner's registry (`scenarios::registry::Registry`) implements this
//! trait, and so can anything else that wants the list (a test, a tool).
//! The constructor is generic over the driver type so that the registry can
//! build a runner for that driver's message type; the runner itself stays in
//! the crate above.

use crate::driver::Driver;
use crate::error::InputError;
use crate::scenario::Scenario;

/// Receives protocols and scenario files.
///
/// ```
/// use harness::{Driver, InputError, Registrar, Scenario};
///
/// /// Collects what a `register` function hands over, by name.
/// #[derive(Default)]
/// struct Listing { protocols: Vec<String>, scenarios: Vec<String> }
///
/// impl Registrar for Listing {
///     fn protocol<D: Driver + 'static>(
///         &mut self,
///         name: &str,
///         _description: &str,
///         _new: fn(&Scenario) -> Result<D, InputError>,
///     ) {
///         self.protocols.push(name.to_string());
///     }
///     fn scenario(&mut self, name: &str, _text: &str) {
///         self.scenarios.push(name.to_string());
///     }
/// }
///
/// let mut listing = Listing::default();
/// listing.scenario("counter-healthy", "protocol = \"counter\"\n");
/// assert_eq!(listing.scenarios, ["counter-healthy"]);
/// ```
pub trait Registrar {
    /// Registers the protocol `name` (what a scenario's `protocol` says):
    /// `new` builds its driver for one run, and refuses a scenario it cannot
    /// run with an error naming the field (`scenario.error(field, message)`).
    /// A later registration of the same name replaces the earlier one.
    fn protocol<D: Driver + 'static>(
        &mut self,
        name: &str,
        description: &str,
        new: fn(&Scenario) -> Result<D, InputError>,
    );

    /// Adds a scenario file's `text` under `name` (what `clustersim run NAME`
    /// takes), next to the built-in catalogue. A later scenario of the same
    /// name replaces the earlier one.
    fn scenario(&mut self, name: &str, text: &str);
}
