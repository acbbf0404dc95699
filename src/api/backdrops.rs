//! The backdrop choices offered as buttons (the MCP App's picker): each is a description the
//! embedded backend's parser understands (`engine::backdrop::resolve`, checked by a test in
//! `backend`) and the cloud agent reads as plain words.

use serde::Serialize;

/// One button of the backdrop picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackdropPreset {
    /// The button's label.
    pub label: &'static str,
    /// What `replace_background`'s `backdrop` receives when it is clicked.
    pub backdrop: &'static str,
    /// A CSS colour or gradient that shows the choice on the button (no images: the app's
    /// content security policy allows none from the network).
    pub swatch: &'static str,
}

/// The picker's presets, in the order shown.
pub const BACKDROP_PRESETS: &[BackdropPreset] = &[
    BackdropPreset {
        label: "Studio",
        backdrop: "studio",
        swatch: "radial-gradient(circle at 50% 40%, #f4f4f4, #b9b9b9)",
    },
    BackdropPreset {
        label: "Dark studio",
        backdrop: "dark studio",
        swatch: "radial-gradient(circle at 50% 40%, #555, #111)",
    },
    BackdropPreset {
        label: "Blur",
        backdrop: "blur",
        swatch: "linear-gradient(135deg, #9bb 0%, #cdb 50%, #a9c 100%)",
    },
    BackdropPreset {
        label: "Sunset",
        backdrop: "sunset",
        swatch: "linear-gradient(#2b1055, #d53a9d 55%, #f9a65a)",
    },
    BackdropPreset {
        label: "Paper",
        backdrop: "paper",
        swatch: "#f3ede2",
    },
    BackdropPreset {
        label: "Navy → teal",
        backdrop: "gradient navy to teal",
        swatch: "linear-gradient(#000080, #008080)",
    },
    BackdropPreset {
        label: "Green screen",
        backdrop: "green screen",
        swatch: "#00b140",
    },
    BackdropPreset {
        label: "White",
        backdrop: "white",
        swatch: "#ffffff",
    },
];
