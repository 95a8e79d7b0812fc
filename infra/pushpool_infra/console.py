"""Console: what a person sees of one pool in the AWS console, without the CLI.

A CloudWatch dashboard (runs dispatched / completed / failed / crashed, lateness from scheduled
time to RunTask, what schedules made and how many runs were late, dispatcher errors and duration,
running tasks from Container Insights), alarms (dispatcher errors,
DLQs not empty, crash rate) and a saved Logs Insights query "logs of a run".

Metric contract (Powertools EMF from the handlers): namespace ``pushpool``, dimensions ``pool`` and
``service`` (Powertools adds ``service`` = POWERTOOLS_SERVICE_NAME to every metric).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from pushpool.contracts import (
    DASHBOARD_DISPATCH_METRICS,
    DASHBOARD_OUTCOME_METRICS,
    DASHBOARD_SCHEDULE_METRICS,
    DISPATCHER_SERVICE,
    METRICS_NAMESPACE,
    TASK_EVENTS_SERVICE,
    Metric,
)

from .common import PoolNames

CRASH_RATE_PERCENT = 20.0
RUN_LOGS_QUERY = """fields @timestamp, @logStream, @message
| filter @message like /RUN_ID/ or @logStream like /RUN_ID/
| sort @timestamp asc
| limit 10000"""


def dashboard_url(region: str, dashboard: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#dashboards/dashboard/{dashboard}"
    )


@dataclass
class ConsoleArgs:
    names: PoolNames
    region: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    dispatcher_function: pulumi.Input[str]
    dead_letter_queues: list[pulumi.Input[str]]
    """Names of the SQS DLQs; any message in one raises an alarm."""
    log_groups: list[pulumi.Input[str]]
    """Log groups the "logs of a run" query searches (the pool's tasks, then the Lambdas)."""
    alarm_actions: list[pulumi.Input[str]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


class Console(pulumi.ComponentResource):
    dashboard: aws.cloudwatch.Dashboard
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ConsoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pushpool:index:Console", name, None, opts)
        names, child = args.names, pulumi.ResourceOptions(parent=self)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=names.base,
            dashboard_body=pulumi.Output.json_dumps(self._body(args)),
            opts=child,
        )
        self.url = pulumi.Output.from_input(args.region).apply(
            lambda region: dashboard_url(region, names.base)
        )
        self.alarms = [self._dispatcher_errors(name, args), self._crash_rate(name, args)]
        self.alarms += [
            self._dlq_not_empty(f"{name}-dlq-{i}", queue, args)
            for i, queue in enumerate(args.dead_letter_queues)
        ]
        aws.cloudwatch.QueryDefinition(
            f"{name}-run-logs",
            name=f"{names.prefix}/{names.pool}/logs of a run",
            log_group_names=list(args.log_groups),
            query_string=RUN_LOGS_QUERY,
            opts=child,
        )
        self.register_outputs(
            {"dashboard_name": self.dashboard.dashboard_name, "dashboard_url": self.url}
        )

    # ---- dashboard ----------------------------------------------------------------------
    def _body(self, args: ConsoleArgs) -> dict[str, Any]:
        pool, region = args.names.pool, args.region

        def pool_metric(metric: str, service: str, **extra: Any) -> list[Any]:
            return [METRICS_NAMESPACE, metric, "pool", pool, "service", service, extra]

        def widget(
            title: str,
            metrics: Sequence[Any],
            x: int,
            y: int,
            stat: str = "Sum",
            view: str = "timeSeries",
        ) -> dict[str, Any]:
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "stat": stat,
                    "period": 60,
                    "view": view,
                    "metrics": list(metrics),
                },
            }

        return {
            "widgets": [
                widget(
                    "Runs dispatched",
                    [
                        pool_metric(m, DISPATCHER_SERVICE, label=m)
                        for m in DASHBOARD_DISPATCH_METRICS
                    ],
                    0,
                    0,
                ),
                widget(
                    "Run outcomes",
                    [
                        pool_metric(m, TASK_EVENTS_SERVICE, label=m)
                        for m in DASHBOARD_OUTCOME_METRICS
                    ],
                    12,
                    0,
                ),
                widget(
                    "Lateness: scheduled time to RunTask (ms)",
                    [
                        pool_metric(
                            Metric.DISPATCH_LATENESS_MS, DISPATCHER_SERVICE, stat="p50", label="p50"
                        ),
                        pool_metric(
                            Metric.DISPATCH_LATENESS_MS, DISPATCHER_SERVICE, stat="p99", label="p99"
                        ),
                        pool_metric(
                            Metric.DISPATCH_LATENESS_MS,
                            DISPATCHER_SERVICE,
                            stat="Maximum",
                            label="max",
                        ),
                    ],
                    0,
                    6,
                    stat="Average",
                ),
                widget(
                    "Dispatcher errors and duration",
                    [
                        [
                            "AWS/Lambda",
                            "Errors",
                            "FunctionName",
                            args.dispatcher_function,
                            {"label": "errors"},
                        ],
                        [
                            "AWS/Lambda",
                            "Throttles",
                            "FunctionName",
                            args.dispatcher_function,
                            {"label": "throttles"},
                        ],
                        [
                            "AWS/Lambda",
                            "Duration",
                            "FunctionName",
                            args.dispatcher_function,
                            {"stat": "p99", "label": "duration p99 (ms)", "yAxis": "right"},
                        ],
                    ],
                    12,
                    6,
                ),
                widget(
                    "Schedules: runs made, late, missed their window, cancelled by policy",
                    [
                        pool_metric(m, DISPATCHER_SERVICE, label=m)
                        for m in DASHBOARD_SCHEDULE_METRICS
                    ],
                    0,
                    18,
                ),
                widget(
                    "Running tasks",
                    [
                        [
                            "ECS/ContainerInsights",
                            "TaskCount",
                            "ClusterName",
                            args.cluster_name,
                            {"label": "tasks"},
                        ],
                    ],
                    0,
                    12,
                    stat="Maximum",
                ),
                widget(
                    "Dead-letter queues",
                    [
                        [
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            "QueueName",
                            queue,
                            {"label": f"dlq {i}"},
                        ]
                        for i, queue in enumerate(args.dead_letter_queues)
                    ],
                    12,
                    12,
                    stat="Maximum",
                ),
            ]
        }

    # ---- alarms -------------------------------------------------------------------------
    def _alarm(self, logical: str, args: ConsoleArgs, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            logical,
            treat_missing_data="notBreaching",
            alarm_actions=list(args.alarm_actions),
            ok_actions=list(args.alarm_actions),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
            **kwargs,
        )

    def _dispatcher_errors(self, name: str, args: ConsoleArgs) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            f"{name}-dispatcher-errors",
            args,
            name=f"{args.names.base}-dispatcher-errors",
            alarm_description=f"pushpool pool {args.names.pool}: the dispatcher Lambda failed "
            "in 3 of the last 5 minutes; see its log group.",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": args.dispatcher_function},
            statistic="Sum",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )

    def _dlq_not_empty(
        self, name: str, queue: pulumi.Input[str], args: ConsoleArgs
    ) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            name,
            args,
            name=pulumi.Output.concat(queue, "-not-empty"),
            alarm_description=pulumi.Output.concat(
                "pushpool pool ",
                args.names.pool,
                ": messages in ",
                queue,
                " (invocations that failed after retries).",
            ),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )

    def _crash_rate(self, name: str, args: ConsoleArgs) -> aws.cloudwatch.MetricAlarm:
        def query(query_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=METRICS_NAMESPACE,
                    metric_name=metric,
                    period=900,
                    stat="Sum",
                    dimensions={"pool": args.names.pool, "service": TASK_EVENTS_SERVICE},
                ),
            )

        return self._alarm(
            f"{name}-crash-rate",
            args,
            name=f"{args.names.base}-crash-rate",
            alarm_description=f"pushpool pool {args.names.pool}: more than "
            f"{CRASH_RATE_PERCENT:.0f}% of finished runs crashed in 15 minutes "
            "(task stopped before the runner finished: image, OOM, spot).",
            evaluation_periods=1,
            threshold=CRASH_RATE_PERCENT,
            comparison_operator="GreaterThanThreshold",
            metric_queries=[
                query("completed", Metric.RUNS_COMPLETED),
                query("failed", Metric.RUNS_FAILED),
                query("crashed", Metric.RUNS_CRASHED),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="total",
                    return_data=False,
                    expression="FILL(completed, 0) + FILL(failed, 0) + FILL(crashed, 0)",
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="crash_rate",
                    return_data=True,
                    label="crash rate (%)",
                    expression="IF(total > 0, 100 * FILL(crashed, 0) / total, 0)",
                ),
            ],
        )
