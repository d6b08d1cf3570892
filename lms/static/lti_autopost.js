// Deep-linking reply: post the signed JWT back to the portal as soon as the page loads (the button stays as
// the fallback when scripts are off).
document.getElementById("deep-link-return")?.submit();
