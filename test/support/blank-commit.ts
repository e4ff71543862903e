// lakeFS's getCommit for the export step tests that need only a commit to name in a status
// document: any id answers as a commit with no message, committer or date.
export async function blankCommit(_repository: string, id: string) {
  return { id, message: "", committer: "", creation_date: 0 };
}
