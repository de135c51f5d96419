// Where deployment records live by default: apart from records.ts so the CLI's help can name the folder without loading the records' schema.
import * as path from "path";

/** The default records folder, relative to the project directory. */
export const DEFAULT_RECORDS_DIR = path.join(".shiftwise", "records");
