## _fixtures.R -- helpers sourced by the reference scripts in this folder.
## Each script finds this folder from its own path (`script_dir`) and sources
## this file first: it loads the packages, fixes the RNG kinds, and holds the
## helpers more than one script uses (JSON output, plain matrices/vectors,
## warning capture, and the instrumented copies of rrcov internals).
suppressPackageStartupMessages({
  library(jsonlite)
  library(robustbase)
  library(rrcov)
})
## R's defaults, stated so that a change of default cannot change a fixture;
## every random call in the scripts follows a set.seed().
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
rr <- asNamespace("rrcov")

## ---------------------------------------------------------------------------
## JSON helpers shared by the fixture scripts (sourced by each; needs `script_dir`)
## ---------------------------------------------------------------------------
## jsonlite's toJSON(digits = NA) prints only 15 significant digits, which does
## NOT round-trip IEEE doubles.  We therefore pre-format every double with
## sprintf("%.17g") (always enough to round-trip) and hand the text to toJSON()
## as verbatim JSON.  Non-finite values (NA, NaN, +-Inf) become null.
## Convention: a numeric vector of length 1 becomes a JSON scalar unless it is
## wrapped in I(); numeric matrices always become row-major nested arrays.
out_dir <- file.path(script_dir, "data")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

fmt_num <- function(x) {
  s <- if (is.integer(x)) sprintf("%d", x) else sprintf("%.17g", x)
  s[is.na(x) | is.infinite(x)] <- "null"
  s
}
json_prep <- function(x) {
  if (is.null(x)) return(NA)                       # -> null
  if (is.data.frame(x)) stop("convert data frames to matrices first")
  if (is.list(x)) return(lapply(x, json_prep))
  if ((is.double(x) || is.integer(x)) && !is.factor(x)) {
    if (is.matrix(x)) {
      rows <- vapply(seq_len(nrow(x)), function(i)
        paste0("[", paste(fmt_num(x[i, ]), collapse = ","), "]"), "")
      return(structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json"))
    }
    if (length(x) == 1L && !inherits(x, "AsIs"))
      return(structure(fmt_num(x), class = "json"))
    return(structure(paste0("[", paste(fmt_num(as.vector(x)), collapse = ","), "]"),
                     class = "json"))
  }
  if (is.factor(x)) x <- as.character(x)
  if (!is.null(names(x)) && !inherits(x, "AsIs")) names(x) <- NULL
  x
}
write_fixture <- function(obj, file) {
  txt <- jsonlite::toJSON(json_prep(obj), digits = NA, auto_unbox = TRUE,
                          matrix = "rowmajor", na = "null",
                          json_verbatim = TRUE, pretty = TRUE)
  writeLines(txt, file.path(out_dir, file))
  cat("wrote", file.path(out_dir, file), "\n")
}
meta <- function(script) list(
  generator = paste0("tests/reference/", script),
  R_version = R.version.string,
  robustbase_version = packageDescription("robustbase")$Version,
  rrcov_version = if (requireNamespace("rrcov", quietly = TRUE))
    packageDescription("rrcov")$Version else NA,
  jsonlite_version = packageDescription("jsonlite")$Version)

## ---------------------------------------------------------------------------
## plain values for the JSON files, and warnings collected instead of printed
## ---------------------------------------------------------------------------
um <- function(M) { M <- unname(as.matrix(M)); storage.mode(M) <- "double"; M }
uv <- function(v) I(as.numeric(unname(v)))
ui <- function(v) I(as.integer(unname(v)))
dm <- function(d) { X <- data.matrix(d); storage.mode(X) <- "double"; X }
quiet <- function(expr) {               # evaluate, collecting warnings
  w <- character()
  val <- withCallingHandlers(expr, warning = function(cnd) {
    w <<- c(w, conditionMessage(cnd)); invokeRestart("muffleWarning") })
  list(value = val, warnings = w)
}

## ---------------------------------------------------------------------------
## instrumented copies of package internals: the deparsed source is changed
## ONLY by inserted assignments into `.cap` (CAP names it inside the copy)
## ---------------------------------------------------------------------------
.cap <- new.env()
CAP <- ".GlobalEnv$.cap"
capenv <- new.env(parent = rr)          # patched internals live here
## replace each whole line line[i] by replacement[i], in turn; a line must equal a
## whole trimmed line of the source, so that substrings cannot match twice
patch_line <- function(src, line, replacement) {
  for (i in seq_along(line)) {
    hit <- which(trimws(src) == line[i])
    if (length(hit) != 1L) stop("line not found exactly once: ", line[i])
    src[hit] <- replacement[i]
  }
  src
}
## replace a substring that occurs on exactly one line
patch_sub <- function(src, pattern, replacement) {
  hit <- grep(pattern, src, fixed = TRUE)
  if (length(hit) != 1L) stop("pattern not found exactly once: ", pattern)
  src[hit] <- sub(pattern, replacement, src[hit], fixed = TRUE)
  src
}
src_of <- function(name) deparse(get(name, rr), width.cutoff = 500L)
mk <- function(src, env = capenv) { f <- eval(parse(text = src)); environment(f) <- env; f }
cap_reset <- function() rm(list = ls(.cap, all.names = TRUE), envir = .cap)
