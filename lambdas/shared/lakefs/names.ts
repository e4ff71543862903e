// lakeFS's repository id and branch name rules, shared by the API's schemas and the CLI's
// lakefs:// URIs (which check them before any request). Pure: no SDK, no zod.

export const REPOSITORY_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;
export const BRANCH_NAME_PATTERN = /^\w[-\w]{0,255}$/;
