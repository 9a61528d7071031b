#!/usr/bin/env bash
# Deploys TaskFlow to a Minikube cluster from a fresh clone: Knative Serving
# (Kourier) and Eventing with the Kafka source and broker, Strimzi with one
# Kafka node and TaskFlow's topics, Dapr, a PostgreSQL, the Secrets and
# ConfigMap, the migrations, then every function, source, Broker and Trigger
# with `ko apply`. See docs/deploy.md. Needs minikube, kubectl, helm and Go;
# ko comes from scripts/tools.sh. Re-running it is safe.
#
#   scripts/deploy-minikube.sh            # start minikube if needed, install, deploy
#   SKIP_PLATFORM=1 scripts/deploy-minikube.sh   # only (re)deploy TaskFlow
set -euo pipefail
cd "$(dirname "$0")/.."

KNATIVE_VERSION=${KNATIVE_VERSION:-knative-v1.23.0}      # knative.dev/serving, eventing v0.50
KAFKA_BROKER_VERSION=${KAFKA_BROKER_VERSION:-knative-v1.23.1} # eventing-kafka-broker v0.50.1
STRIMZI_VERSION=${STRIMZI_VERSION:-0.48.0}
DAPR_VERSION=${DAPR_VERSION:-1.15.0}
NS=taskflow

need() { command -v "$1" >/dev/null || { echo "deploy-minikube: $1 is required" >&2; exit 1; }; }
need minikube; need kubectl; need helm; need go
step() { printf '\n== %s\n' "$*"; }

if ! minikube status >/dev/null 2>&1; then
	step "starting minikube (4 CPUs, 8 GiB)"
	minikube start --cpus=4 --memory=8g
fi

if [ -z "${SKIP_PLATFORM:-}" ]; then
	step "Knative Serving $KNATIVE_VERSION with Kourier"
	kubectl apply -f "https://github.com/knative/serving/releases/download/$KNATIVE_VERSION/serving-crds.yaml"
	kubectl apply -f "https://github.com/knative/serving/releases/download/$KNATIVE_VERSION/serving-core.yaml"
	kubectl apply -f "https://github.com/knative-extensions/net-kourier/releases/download/$KNATIVE_VERSION/kourier.yaml"
	kubectl patch configmap/config-network -n knative-serving --type merge \
		-p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
	# Images built into Minikube's Docker (ko.local) have no registry to resolve tags from.
	kubectl patch configmap/config-deployment -n knative-serving --type merge \
		-p '{"data":{"registries-skipping-tag-resolving":"ko.local,dev.local"}}'
	kubectl apply -f "https://github.com/knative/serving/releases/download/$KNATIVE_VERSION/serving-default-domain.yaml"

	step "Knative Eventing $KNATIVE_VERSION with the Kafka source and broker $KAFKA_BROKER_VERSION"
	kubectl apply -f "https://github.com/knative/eventing/releases/download/$KNATIVE_VERSION/eventing-crds.yaml"
	kubectl apply -f "https://github.com/knative/eventing/releases/download/$KNATIVE_VERSION/eventing-core.yaml"
	for f in eventing-kafka-controller eventing-kafka-source eventing-kafka-broker; do
		kubectl apply -f "https://github.com/knative-extensions/eventing-kafka-broker/releases/download/$KAFKA_BROKER_VERSION/$f.yaml"
	done

	step "Strimzi $STRIMZI_VERSION and a one-node Kafka with task-events, reminders, task-updates"
	kubectl create namespace kafka --dry-run=client -o yaml | kubectl apply -f -
	kubectl apply -n kafka -f "https://github.com/strimzi/strimzi-kafka-operator/releases/download/$STRIMZI_VERSION/strimzi-cluster-operator-$STRIMZI_VERSION.yaml"
	kubectl -n kafka rollout status deployment/strimzi-cluster-operator --timeout=5m
	kubectl apply -f deploy/minikube/kafka.yaml
	kubectl -n kafka wait kafka/taskflow --for=condition=Ready --timeout=10m

	step "Dapr $DAPR_VERSION (control plane with the scheduler, for the Jobs API)"
	helm repo add dapr https://dapr.github.io/helm-charts/ >/dev/null 2>&1 || true
	helm repo update dapr >/dev/null
	helm upgrade --install dapr dapr/dapr --version "$DAPR_VERSION" --namespace dapr-system --create-namespace --wait

	for d in knative-serving knative-eventing; do
		kubectl -n "$d" wait deployment --all --for=condition=Available --timeout=10m
	done
fi

step "namespace $NS, PostgreSQL, Secrets and ConfigMap"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
if ! kubectl -n "$NS" get secret taskflow-postgres >/dev/null 2>&1; then
	pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	kubectl -n "$NS" create secret generic taskflow-postgres --from-literal=password="$pw"
	kubectl -n "$NS" create secret generic taskflow-db \
		--from-literal=url="postgres://taskflow:$pw@postgres.$NS.svc.cluster.local:5432/taskflow?sslmode=disable"
fi
if ! kubectl -n "$NS" get secret taskflow-auth >/dev/null 2>&1; then
	secret=${TASKFLOW_AUTH_SECRET:-${BETTER_AUTH_SECRET:-$(head -c 48 /dev/urandom | base64 | tr -d '/+=')}}
	kubectl -n "$NS" create secret generic taskflow-auth --from-literal=secret="$secret"
fi
if [ -n "${TASKFLOW_NOTIFY_WEBHOOK_SECRET:-}" ]; then
	kubectl -n "$NS" create secret generic taskflow-notify --from-literal=webhook-secret="$TASKFLOW_NOTIFY_WEBHOOK_SECRET" \
		--dry-run=client -o yaml | kubectl apply -f -
fi
# TaskFlow's own tokens name the base URL as issuer: with one set, the accounts
# JWKS is bound to it, so no other provider's key can pass for TaskFlow's.
jwks="http://accounts.$NS.svc.cluster.local/api/auth/jwks"
if [ -n "${TASKFLOW_BASE_URL:-}" ]; then
	jwks="${TASKFLOW_BASE_URL%/}=$jwks"
fi
kubectl -n "$NS" create configmap taskflow-config \
	--from-literal=kafka-brokers=taskflow-kafka-bootstrap.kafka:9092 \
	--from-literal=jwks-url="$jwks${TASKFLOW_AUTH_JWKS_URL:+,$TASKFLOW_AUTH_JWKS_URL}" \
	--from-literal=base-url="${TASKFLOW_BASE_URL:-}" \
	--from-literal=notify-webhook="${TASKFLOW_NOTIFY_WEBHOOK:-}" \
	--from-literal=otel-endpoint="${OTEL_EXPORTER_OTLP_ENDPOINT:-}" \
	--dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f deploy/minikube/postgres.yaml
kubectl -n "$NS" rollout status statefulset/postgres --timeout=5m

step "building with ko into Minikube's Docker"
scripts/tools.sh >/dev/null
eval "$(minikube docker-env)"
export KO_DOCKER_REPO=ko.local

step "migrations"
kubectl -n "$NS" delete job taskflow-migrate --ignore-not-found
.cache/bin/ko apply --base-import-paths -f deploy/migrate-job.yaml
kubectl -n "$NS" wait job/taskflow-migrate --for=condition=complete --timeout=5m

step "functions, KafkaSources, Broker and Triggers"
# One Kafka node: the Broker's topics get one replica instead of three.
.cache/bin/ko resolve --base-import-paths -f knative/ -f triggers/ |
	sed 's/default.topic.replication.factor: "3"/default.topic.replication.factor: "1"/' |
	kubectl apply -f -
kubectl -n "$NS" wait ksvc --all --for=condition=Ready --timeout=10m

step "smoke test"
url=$(kubectl -n "$NS" get ksvc gateway -o jsonpath='{.status.url}')
echo "gateway: $url (run 'minikube tunnel' in another terminal if it does not answer)"
curl -fsS --max-time 10 "$url/healthz" && echo
cat <<EOF

TaskFlow is deployed. What runs:
  kn service list -n $NS
  kn trigger list -n $NS
  kn source kafka list -n $NS
  kn broker describe taskflow -n $NS
A token for user alice (the secret is in the Secret taskflow-auth):
  TASKFLOW_AUTH_SECRET=\$(kubectl -n $NS get secret taskflow-auth -o jsonpath='{.data.secret}' | base64 -d) \\
    go run ./cmd/taskflow-dev token alice
EOF
