{{/* Names and labels shared by every template. */}}
{{- define "latte.fullname" -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- end -}}

{{- define "latte.labels" -}}
app.kubernetes.io/part-of: latte
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
latte.dev/release: {{ .Values.release.id | default "none" | quote }}
{{- end -}}

{{- define "latte.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository@digest when the release pinned a digest, else repository:tag. */}}
{{- define "latte.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/* Gateway replicas: the larger of the env floor and what the bench capacity asks for. */}}
{{- define "latte.gatewayMinReplicas" -}}
{{- $min := int .Values.gateway.autoscaling.minReplicas -}}
{{- range $name, $cap := include "latte.capacity" $ | fromYaml -}}
{{- if gt (int $cap.replicas) $min -}}{{- $min = int $cap.replicas -}}{{- end -}}
{{- end -}}
{{- $min -}}
{{- end -}}

{{/* HPA CPU target: the lowest any released model's capacity asks for, else the env value. */}}
{{- define "latte.gatewayCpuTarget" -}}
{{- $target := int .Values.gateway.autoscaling.targetCPUUtilizationPercentage -}}
{{- range $name, $cap := include "latte.capacity" $ | fromYaml -}}
{{- if and $cap.hpaTargetCpu (lt (int $cap.hpaTargetCpu) $target) -}}{{- $target = int $cap.hpaTargetCpu -}}{{- end -}}
{{- end -}}
{{- $target -}}
{{- end -}}

{{/* Zone (hard) and node (soft) spread for one component. */}}
{{- define "latte.topologySpread" -}}
topologySpreadConstraints:
  - maxSkew: {{ .root.Values.topologySpread.zone.maxSkew }}
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ .root.Values.topologySpread.zone.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "latte.selector" . | nindent 8 }}
  - maxSkew: {{ .root.Values.topologySpread.node.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ .root.Values.topologySpread.node.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "latte.selector" . | nindent 8 }}
{{- end -}}

{{/* Probes on the Open Inference Protocol health endpoints. */}}
{{- define "latte.probes" -}}
livenessProbe:
  httpGet: {path: /v2/health/live, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /v2/health/ready, port: {{ .port }}}
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
startupProbe:
  httpGet: {path: /v2/health/ready, port: {{ .port }}}
  periodSeconds: {{ .startup.periodSeconds }}
  failureThreshold: {{ .startup.failureThreshold }}
{{- end -}}

{{/* Per-pod request rate the HPA holds: the lowest any released model's bench asks for; "" if none. */}}
{{- define "latte.gatewayRpsTarget" -}}
{{- $target := 0.0 -}}
{{- range $name, $cap := include "latte.capacity" $ | fromYaml -}}
{{- if and $cap.hpaTargetRps (or (eq $target 0.0) (lt (float64 $cap.hpaTargetRps) $target)) -}}{{- $target = float64 $cap.hpaTargetRps -}}{{- end -}}
{{- end -}}
{{- if gt $target 0.0 }}{{ $target }}{{ end -}}
{{- end -}}

{{/* The release subset the Triton pod's init container delivers (C2 shape): per model only
     what identifies bytes (version, digest, artifacts), and the routing. Its sha256 is the
     pod's latte.dev/delivery-checksum, so any change of a pinned version or digest rolls
     Triton while a new release id or bench figure alone does not. */}}
{{- define "latte.delivery" -}}
{{- $models := dict -}}
{{- range $name, $m := .Values.models -}}
{{- $_ := set $models $name (dict "version" $m.version "digest" $m.digest "artifacts" ($m.artifacts | default dict)) -}}
{{- end -}}
{{- toYaml (dict "models" $models "routing" .Values.routing) -}}
{{- end -}}

{{/* The instance kind the delivery step writes into each config.pbtxt: the env decides. */}}
{{- define "latte.instanceKind" -}}
{{- if .Values.triton.gpu.enabled }}gpu{{ else }}cpu{{ end -}}
{{- end -}}

{{/* The bench capacity that applies here: entries measured on this env's Triton device class
     (or naming none). Capacity from a CPU bench is only indicative for a GPU env: its own HPA
     values stand. */}}
{{- define "latte.capacity" -}}
{{- $kind := include "latte.instanceKind" . -}}
{{- $found := dict -}}
{{- range $name, $cap := .Values.capacity -}}
{{- if or (not $cap.device) (eq $cap.device $kind) -}}{{- $_ := set $found $name $cap -}}{{- end -}}
{{- end -}}
{{- toYaml $found -}}
{{- end -}}

{{/* The models whose runtime (models.<m>.runtime, default triton) is TF Serving, sorted. */}}
{{- define "latte.tfservingModels" -}}
{{- $names := list -}}
{{- range $name, $m := .Values.models -}}
{{- if eq ($m.runtime | default "triton") "tfserving" -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- if and $names (not .Values.tfServing.enabled) -}}
{{- fail (printf "models.%s.runtime is tfserving but tfServing.enabled is false: enable tfServing in the env's values.yaml or release the model for triton" (first $names)) -}}
{{- end -}}
{{- toJson (sortAlpha $names) -}}
{{- end -}}

{{/* What the TF Serving pod's init container delivers: the tfserving models (version, digests,
     runtime, savedModels) and their routing. Its sha256 rolls the TF Serving pod. */}}
{{- define "latte.tfservingDelivery" -}}
{{- $models := dict -}}
{{- $routing := dict -}}
{{- range $name := include "latte.tfservingModels" . | fromJsonArray -}}
{{- $m := index $.Values.models $name -}}
{{- $_ := set $models $name (dict "version" $m.version "digest" $m.digest "runtime" "tfserving" "savedModels" ($m.savedModels | default dict)) -}}
{{- if hasKey $.Values.routing $name -}}{{- $_ := set $routing $name (index $.Values.routing $name) -}}{{- end -}}
{{- end -}}
{{- toYaml (dict "models" $models "routing" $routing) -}}
{{- end -}}

{{/* The registry's artifact store, as every fetch init container reads it. */}}
{{- define "latte.artifactStoreEnv" -}}
{{- $store := .Values.triton.artifactStore -}}
- {name: LATTE_ARTIFACT_STORE_URL, value: {{ $store.url | quote }}}
- {name: LATTE_S3_ENDPOINT, value: {{ $store.endpoint | quote }}}
- {name: LATTE_S3_REGION, value: {{ $store.region | quote }}}
- {name: LATTE_S3_SECURE, value: {{ $store.secure | toString | quote }}}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ $store.credentialsSecret }}, key: AWS_ACCESS_KEY_ID}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ $store.credentialsSecret }}, key: AWS_SECRET_ACCESS_KEY}
{{- end -}}

{{/* faultInjection.faults as the gateway's LATTE_SERVING_FAULTS spec (latte_serving.faults). */}}
{{- define "latte.faults" -}}
{{- $entries := list -}}
{{- range . -}}
{{- $settings := list -}}
{{- if hasKey . "errors" }}{{ $settings = append $settings (printf "errors=%v" .errors) }}{{ end -}}
{{- if hasKey . "delayMs" }}{{ $settings = append $settings (printf "delay_ms=%v" .delayMs) }}{{ end -}}
{{- $entries = append $entries (printf "%s@%v:%s" .model .version (join "," $settings)) -}}
{{- end -}}
{{- join ";" $entries -}}
{{- end -}}
