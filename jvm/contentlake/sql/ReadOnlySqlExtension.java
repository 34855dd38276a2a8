package contentlake.sql;

import java.util.Set;

import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;

import scala.Function1;
import scala.runtime.BoxedUnit;

/**
 * Makes every session of a Spark process read-only: a check rule, run on each analysed plan
 * before any command executes, refuses writes, DDL and anything else that changes state.
 *
 * <p>Enabled with {@code spark.sql.extensions=...,contentlake.sql.ReadOnlySqlExtension} on the
 * analysts' Thrift server (contentlake/sql_endpoint.py). Spark has no read-only switch and Delta
 * writes never pass the metastore, so a metastore login without write grants cannot stop an
 * INSERT into a Delta table on its own; this rule can.
 *
 * <p>The rule denies by default: Spark marks every non-query statement as a {@link Command}
 * (INSERT, CTAS, DROP, ALTER, MERGE, OPTIMIZE, VACUUM, RESTORE, CACHE, ADD JAR, ...), and only
 * the commands that read or change nothing but the session are let through. The few plan nodes
 * that write or run a script without being commands (TRANSFORM ... USING 'script') are named as
 * well, and so are the expressions that call arbitrary Java methods (reflect()).
 */
public final class ReadOnlySqlExtension implements Function1<SparkSessionExtensions, BoxedUnit> {

  /** Commands that only read, explain, or set options of the analyst's own session. */
  private static final Set<String> ALLOWED_COMMANDS =
      Set.of(
          "ExplainCommand",
          "SetCommand",
          "ResetCommand",
          "SetCatalogAndNamespace",
          "SetCatalogCommand",
          "SetNamespaceCommand",
          "ListJarsCommand",
          "ListFilesCommand",
          "ListArchivesCommand");

  /** Prefixes of read-only command families (SHOW TABLES, DESCRIBE HISTORY, ...). */
  private static final String[] ALLOWED_COMMAND_PREFIXES = {"Show", "Describe"};

  /**
   * Plan nodes that write or run external code although they are not commands: every concrete
   * LogicalPlan of Spark 4.1 and Delta 4.4 outside {@link Command} was listed and read through
   * for these. Re-check the list when either is upgraded.
   */
  private static final Set<String> DENIED_NODES =
      Set.of(
          "InsertIntoStatement",
          "InsertIntoDir",
          "CreateTable",
          "Call",
          "MergeRows",
          "ScriptTransformation",
          "WriteFiles",
          "WriteToDataSourceV2",
          "WriteToStream",
          "WriteToStreamStatement",
          "WriteToContinuousDataSource",
          "WriteToMicroBatchDataSource",
          "WriteToMicroBatchDataSourceV1",
          "CloneTableStatement",
          "RestoreTableStatement",
          "DeltaDelete",
          "DeltaUpdateTable");

  /** reflect(), java_method() and try_reflect() call any static Java method. */
  private static final Set<String> DENIED_EXPRESSIONS = Set.of("CallMethodViaReflection", "TryReflect");

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    extensions.injectCheckRule(
        session -> (Function1<LogicalPlan, BoxedUnit>) ReadOnlySqlExtension::check);
    return BoxedUnit.UNIT;
  }

  /** Throws when {@code plan}, or any plan inside it (subqueries included), may change state. */
  static BoxedUnit check(LogicalPlan plan) {
    plan.foreachWithSubqueries(
        node -> {
          String name = node.getClass().getSimpleName();
          if (DENIED_NODES.contains(name) || (node instanceof Command && !allowedCommand(name))) {
            throw refused(node.nodeName());
          }
          node.expressions()
              .foreach(
                  expression -> {
                    checkExpression(expression);
                    return BoxedUnit.UNIT;
                  });
          return BoxedUnit.UNIT;
        });
    return BoxedUnit.UNIT;
  }

  private static void checkExpression(Expression expression) {
    expression.foreach(
        inner -> {
          if (DENIED_EXPRESSIONS.contains(inner.getClass().getSimpleName())) {
            throw refused(inner.prettyName());
          }
          return BoxedUnit.UNIT;
        });
  }

  private static boolean allowedCommand(String name) {
    if (ALLOWED_COMMANDS.contains(name)) {
      return true;
    }
    for (String prefix : ALLOWED_COMMAND_PREFIXES) {
      if (name.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private static SecurityException refused(String what) {
    return new SecurityException(
        "READ_ONLY_ENDPOINT: this SQL endpoint is read-only; "
            + what
            + " is refused. Writes and DDL run in the pipeline's own Spark session.");
  }
}
