pipeline {
    agent {  // <-- agent-one-type
        label 'linux'
        docker 'debian'
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
