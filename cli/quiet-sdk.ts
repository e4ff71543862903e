// The AWS SDK prints a notice about Node.js versions on every run of a command line tool that
// uses it; the SDK's own switch turns it off (read when a client is created). A user who sets
// the variable keeps their value.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
